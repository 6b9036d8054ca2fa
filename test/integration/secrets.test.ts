import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess } from '../support/run-cli.js';
import { useBed } from '../support/use-bed.js';

describe('the admin password never appears in any output, even with --verbose', () => {
  const { bed, work, config } = useBed({
    scratch: 'xbs-secrets-',
    config: { extra: 'bootstrap:\n  pause: 0s\n' },
    async setup() {
      for (const u of ['sa', 'sb']) await bed.createUser(u, { messages: 1 });
    },
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
