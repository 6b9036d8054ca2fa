import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CyrusTestBed } from '../cyrus/testbed.js';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess } from '../support/run-cli.js';

describe('the admin password never appears in any output, even with --verbose', () => {
  let bed: CyrusTestBed;
  let work: string;
  let config: string;

  before(async () => {
    bed = await CyrusTestBed.start();
    work = mkdtempSync(join(tmpdir(), 'xbs-secrets-'));
    for (const u of ['sa', 'sb']) await bed.createUser(u, { messages: 1 });
    await bed.disconnect();
    config = writeBedConfig(bed, work, { extra: 'bootstrap:\n  pause: 0s\n' });
  });

  after(async () => {
    await bed?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const commands: string[][] = [
    ['check', '--canary', 'sa'],
    ['bootstrap'],
    ['backup', 'sb'],
    ['backup', 's*', '--dry-run'],
    ['run', '--once'],
    ['plan'],
    ['report'],
    ['report', '--format', 'prometheus'],
    ['history'],
  ];
  for (const args of commands) {
    for (const json of [false, true]) {
      test(`${args.join(' ')}${json ? ' --json' : ''} -v`, async () => {
        const run = await runCliProcess([...args, ...(json ? ['--json'] : []), '-v', '-c', config]);
        assert.ok(run.stdout.length + run.stderr.length > 0, 'the command said something');
        assert.ok(!run.stdout.includes(bed.admin.password) && !run.stderr.includes(bed.admin.password), 'the password leaked');
      });
    }
  }

  test('nor does a failed login', async () => {
    const wrong = writeBedConfig(bed, join(work, 'wrong'));
    writeFileSync(join(work, 'wrong', 'admin.password'), 'Wr0ng-But-Secret\n', { mode: 0o600 });
    const run = await runCliProcess(['check', '-v', '-c', wrong]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /FAIL imap1 login/);
    assert.ok(!`${run.stdout}${run.stderr}`.includes('Wr0ng-But-Secret'));
  });
});
