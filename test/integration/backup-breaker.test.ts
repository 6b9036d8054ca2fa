// `backup` against a server whose circuit breaker opens halfway: the users it then does not send still
// get a line each, saying they were skipped and why, and the exit code says the work was not done.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCliProcess } from '../support/run-cli.js';
import { useBed } from '../support/use-bed.js';

const USERS = ['k1', 'k2', 'k3'];

describe('backup once a server is paused by its circuit breaker, against real Cyrus', () => {
  const { bed, config } = useBed({
    scratch: 'xbs-backup-breaker-',
    config: {},
    async setup() {
      for (const u of USERS) await bed.createUser(u, { messages: 1 });
    },
  });

  test('backupd stopped: the first user fails with NO Retry operation, the others each say SKIPPED, why and until when; exit 1', async () => {
    await bed.stopBackupd();
    try {
      const run = await runCliProcess(['backup', 'k*', '-c', config]);
      const show = `${run.stdout}${run.stderr}`;
      assert.equal(run.code, 1, show);
      const lines = run.stdout.trim().split('\n');
      const failed = lines.filter((l) => /^NO k\d /.test(l));
      const skipped = lines.filter((l) => l.startsWith('SKIPPED '));
      assert.equal(failed.length, 1, show);
      assert.match(failed[0]!, /NO Retry operation/);
      assert.equal(skipped.length, USERS.length - 1, show);
      for (const line of skipped) {
        assert.match(line, /^SKIPPED k\d \(imap1\): not sent: imap1 was paused after 1 failure in a row \(last: .*NO Retry operation.*\), until \d{4}-\d\d-\d\dT[\d:.]+Z; try again after that$/, show);
      }
      assert.deepEqual([...failed, ...skipped].map((l) => l.split(' ')[1]).sort(), USERS);
      assert.equal(lines.at(-1), '0 ok, 1 failed, 2 skipped');

      const json = await runCliProcess(['backup', 'k*', '--json', '-c', config]);
      const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      // The server is paused from the run before: nobody is sent, and everybody is told.
      assert.deepEqual(rows.filter((r) => r.outcome === 'skipped').map((r) => r.userid).sort(), USERS, json.stdout);
      assert.deepEqual(rows.at(-1), { summary: { ok: 0, failed: 0, skipped: 3 } });
      assert.equal(json.code, 1);
    } finally {
      await bed.startBackupd();
    }
  });
});
