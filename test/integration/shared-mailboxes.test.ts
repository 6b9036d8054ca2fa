// Shared mailboxes, against real Cyrus under both hierarchy separators with virtdomains: discovered,
// backed up on the scheduler's policy into backupd's one backup of them, %SHARED, and reported as such.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess } from '../support/run-cli.js';
import { readAttempts } from '../support/state-db-reader.js';
import { useBed } from '../support/use-bed.js';

interface ReportJson {
  counts: Record<string, number>;
  users: Array<{ userid: string; kind: string; state: string; server: string | null; error: string | null; lastAttempt: { outcome: string } | null }>;
}

for (const unixHierarchySep of [false, true]) {
  const sep = unixHierarchySep ? '/' : '.';
  describe(`shared mailboxes ('${sep}' separator, virtdomains)`, () => {
    const shared = ['shared', `shared${sep}news`, `lists${sep}cyrus`, 'shared@example.com', `news${sep}a@example.com`];

    const { bed, work } = useBed({
      bed: { unixHierarchySep, virtDomains: true, secondImapServer: true },
      scratch: 'xbs-shared-',
      async setup() {
        await bed.createUser('anne', { messages: 2 });
        await bed.createUser('bob@example.com', { messages: 2 });
        const client = await bed.connect();
        for (const name of shared) {
          assert.equal((await client.command(`CREATE "${name}"`)).status, 'OK', name);
          assert.equal((await client.command(`SETACL "${name}" admin lrswipkxtecda`)).status, 'OK', name);
        }
      },
    });

    test('a cycle backs them up into %SHARED, one XBACKUP each, and the report shows it fresh as what it is', async () => {
      const dir = join(work, 'one');
      const config = writeBedConfig(bed, dir);
      const plan = await runCliProcess(['plan', '-c', config]);
      assert.match(plan.stdout, /refresh %SHARED on imap1/, plan.stdout);
      const run = await runCliProcess(['run', '--once', '-c', config]);
      assert.equal(run.code, 0, run.stdout + run.stderr);

      const attempts = readAttempts(join(dir, 'state.db')).filter((a) => a.userid === '%SHARED');
      assert.equal(attempts.length, 1, JSON.stringify(attempts));
      assert.equal(attempts[0]!.outcome, 'ok', JSON.stringify(attempts[0]));
      assert.ok((await bed.cyrDbtoolShowBackupsDb()).get('%SHARED'), 'backupd keeps them under %SHARED');

      const report = await runCliProcess(['report', '--json', '-c', config]);
      const json = JSON.parse(report.stdout) as ReportJson;
      const entry = json.users.find((u) => u.userid === '%SHARED')!;
      assert.deepEqual([entry.kind, entry.state, entry.server], ['shared', 'fresh', 'imap1'], JSON.stringify(entry));
      assert.equal(json.users.find((u) => u.userid === 'anne')!.kind, 'user');
      const nagios = await runCliProcess(['report', '--format', 'nagios', '-c', config]);
      assert.equal(nagios.code, 0, nagios.stdout);
      const again = await runCliProcess(['plan', '-c', config]);
      assert.doesNotMatch(again.stdout, /%SHARED/, 'nothing is due once they are backed up');
    });

    test('shared mailboxes on two servers would share one backup: a conflict that says what to do, and sharedMailboxes: false settles it', async () => {
      const client = await bed.connect('imap2');
      assert.equal((await client.command('CREATE "other"')).status, 'OK');
      assert.equal((await client.command('SETACL "other" admin lrswipkxtecda')).status, 'OK');
      await bed.disconnect();
      const both = writeBedConfig(bed, join(work, 'two'), { servers: [{ which: 'imap1' }, { which: 'imap2' }] });
      const report = JSON.parse((await runCliProcess(['report', '--json', '-c', both])).stdout) as ReportJson;
      const entry = report.users.find((u) => u.userid === '%SHARED')!;
      assert.equal(entry.state, 'conflict');
      assert.match(entry.error!, /shared mailboxes on imap1 and imap2 would go into one backup, %SHARED: .*sharedMailboxes: false/);

      const one = writeBedConfig(bed, join(work, 'settled'), { servers: [{ which: 'imap1' }, { which: 'imap2', settings: { sharedMailboxes: false } }] });
      const settled = JSON.parse((await runCliProcess(['report', '--json', '-c', one])).stdout) as ReportJson;
      assert.equal(settled.users.find((u) => u.userid === '%SHARED')!.server, 'imap1');
      assert.notEqual(settled.users.find((u) => u.userid === '%SHARED')!.state, 'conflict');
    });
  });
}
