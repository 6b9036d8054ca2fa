import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CyrusTestBed, type TestBedOptions } from '../cyrus/testbed.js';
import { writeBedConfig } from '../support/bed-config.js';
import { parseCtlBackupsJsonList } from '../support/ctl-backups-list.js';
import { runCliProcess } from '../support/run-cli.js';

interface ReportUser {
  userid: string;
  state: string;
}

/** The same story on each naming layout: discovery, XBACKUP names, backups.db keys and the report agree. */
const layouts: Array<[string, TestBedOptions, string[]]> = [
  ['"/" separator with virtual domains', { unixHierarchySep: true, virtDomains: true }, ['anne.smith', 'anne@example.com', 'anne.smith@example.com', 'bob@example.com', 'dave']],
  ['"." separator, a dotted userid', {}, ['anne.smith', 'annette', 'bob']],
];

for (const [name, options, users] of layouts) {
  describe(`naming: ${name}`, () => {
    let bed: CyrusTestBed;
    let work: string;
    let config: string;

    before(async () => {
      bed = await CyrusTestBed.start(options);
      work = mkdtempSync(join(tmpdir(), 'xbs-naming-'));
      for (const u of users) await bed.createUser(u, { messages: 2, folders: ['Sent'] });
      await bed.disconnect();
      config = writeBedConfig(bed, work);
    });

    after(async () => {
      await bed?.stop();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test('discovery finds every user once, by userid, and nobody is backed up yet', async () => {
      const run = await runCliProcess(['report', '--json', '--sort', 'user', '-c', config]);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as { users: ReportUser[] };
      assert.deepEqual(report.users.map((u) => [u.userid, u.state]), [...users].sort().map((u) => [u, 'missing']));
    });

    test('backup "anne*" backs up exactly the matching users under their own names', async () => {
      const expected = users.filter((u) => u.startsWith('anne')).sort();
      const run = await runCliProcess(['backup', 'anne*', '-c', config]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.deepEqual(run.stdout.split('\n').filter((l) => l.startsWith('OK ')).map((l) => l.split(' ')[1]).sort(), expected);
      const keys = parseCtlBackupsJsonList((await bed.ctlBackups(['-j', 'list'])).stdout).map((e) => e.userid).sort();
      assert.deepEqual(keys, expected, 'backups.db keys are the userids');
    });

    test('the report joins backups.db and discovery on the same userids: no user is both missing and orphan', async () => {
      const run = await runCliProcess(['report', '--json', '--sort', 'user', '-c', config]);
      const report = JSON.parse(run.stdout) as { users: ReportUser[] };
      assert.deepEqual(
        report.users.map((u) => [u.userid, u.state]),
        [...users].sort().map((u) => [u, u.startsWith('anne') ? 'fresh' : 'missing']),
      );
    });
  });
}
