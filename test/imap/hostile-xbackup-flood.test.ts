// A hostile IMAP server's XBACKUP answers that never end, in a file of their own (see hostile-list-flood.test.ts).
import { longForUnitRun } from '../support/test-set.js';
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { AdminSession } from '../../src/imap/admin-session.js';
import { unrequestedUserLines, userOutcomes } from '../../src/imap/user-outcome.js';
import { runXbackup } from '../../src/imap/xbackup.js';
import { fakeServer, mb, ok, stopFakeServers, stream, xbackup } from './support/hostile-session.js';

after(stopFakeServers);

// Each line is capped at 1 MiB, but an answer of endless lines is not a line: what a command keeps of
// them (users, mailboxes, result lines) is counted, and past the limit the command fails naming the
// server and the limit, the connection closed so the server cannot make it read on.
describe('an answer that never ends: what one command keeps is bounded', () => {
  test('an XBACKUP reporting a million users not asked for keeps the first 1,000 of them, counts the rest, and judges the user asked for', { timeout: 600_000, skip: longForUnitRun() }, async (t) => {
    const OTHERS = 1_000_000;
    const server = await fakeServer({
      handlers: {
        XBACKUP: async (c, conn) => {
          if ((await stream(conn, OTHERS, (i) => `* OK USER other${i}\r\n`)) === OTHERS) conn.write(`* OK USER alice\r\n${c.tag} OK Completed\r\n`);
        },
      },
    });
    const session = await AdminSession.open(server.serverConfig());
    const rssBefore = process.memoryUsage().rss;
    const run = await runXbackup(session, 'user.*', 'backup', { timeoutMs: 600_000, requested: ['alice'] });
    t.diagnostic(`RSS of this process, which also runs the fake server: ${mb(rssBefore)} before the XBACKUP, ${mb(process.memoryUsage().rss)} after ${OTHERS.toLocaleString('en-US')} lines for others`);
    assert.equal(run.failure, null, run.failure?.message);
    assert.ok(ok(userOutcomes(run, ['alice'])[0]));
    assert.equal(run.items.length, 1_001, "alice's line and the first 1,000 others are kept, nothing more");
    assert.equal(unrequestedUserLines(run, ['alice']).length, 1_000);
    assert.equal(run.unkeptLines, OTHERS - 1_000);
    await session.close();
  });

  test('results of a megabyte each for the users asked for: the command fails past 64 MiB kept, saying so, and the users not yet reported are in doubt', { timeout: 120_000 }, async () => {
    const requested = Array.from({ length: 100 }, (_, i) => `u${i}`);
    const reason = 'x'.repeat(1_000_000);
    const { run, outcomes } = await xbackup(
      async (c, conn) => {
        if ((await stream(conn, requested.length, (i) => `* NO USER u${i} (${reason})\r\n`)) === requested.length) conn.write(`${c.tag} OK Completed\r\n`);
      },
      requested,
      { timeoutMs: 60_000 },
    );
    assert.equal(run.failure?.kind, 'response-limit', run.failure?.message);
    assert.match(run.failure.message, /^fake: XBACKUP user\.\* backup: .*more than 64 MiB of USER and MAILBOX lines, the most one command may keep in memory/);
    assert.equal(outcomes.get('u0')!.outcome, 'no', 'a user reported before the limit keeps its outcome');
    assert.equal(outcomes.get('u99')!.inDoubt, true, 'the server may still be backing up the users it did not report');
  });
});
