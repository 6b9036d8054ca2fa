// A hostile IMAP server's LIST that never ends, in a file of its own: half a million users to parse is
// the heaviest test there is, and a file's time bound is its own.
import { longForUnitRun } from '../support/test-set.js';
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { compileUseridPattern } from '../../src/cyrus-names/userid-pattern.js';
import { AdminSession } from '../../src/imap/admin-session.js';
import { discoverUsers } from '../../src/imap/discover-users.js';
import { ImapConnectionError } from '../../src/imap/imap-connection-error.js';
import { fakeServer, mb, stopFakeServers, stream } from './support/hostile-session.js';

after(stopFakeServers);

// Each line is capped at 1 MiB, but an answer of endless lines is not a line: what a command keeps of
// them (users, mailboxes, result lines) is counted, and past the limit the command fails naming the
// server and the limit, the connection closed so the server cannot make it read on.
describe('an answer that never ends: what one command keeps is bounded', () => {
  test('a LIST of 600,000 users fails once 500,000 are kept, naming the server and the limit, and stops reading', { timeout: 600_000, skip: longForUnitRun() }, async (t) => {
    const USERS = 600_000;
    let streamed: Promise<number> | undefined;
    const server = await fakeServer({
      capabilities: 'IMAP4rev1 LITERAL+ ID NAMESPACE AUTH=PLAIN SASL-IR LIST-EXTENDED LIST-STATUS STATUS=SIZE',
      handlers: {
        LIST: async (c, conn) => {
          if (c.args[1] === '') return conn.write(`* LIST (\\Noselect) "." ""\r\n${c.tag} OK Completed\r\n`);
          streamed = stream(conn, USERS, (i) => `* LIST (\\HasNoChildren) "." "user.other${i}"\r\n* STATUS "user.other${i}" (SIZE ${1000 + i})\r\n`);
          if ((await streamed) === USERS) conn.write(`${c.tag} OK Completed\r\n`);
        },
      },
    });
    const session = await AdminSession.open(server.serverConfig({ commandTimeout: 600_000 }));
    const rssBefore = process.memoryUsage().rss;
    await assert.rejects(discoverUsers(session, [compileUseridPattern('*')], { shared: true }), (err) => {
      assert.ok(err instanceof ImapConnectionError, String(err));
      assert.match(err.message, /^fake: LIST "" "\*" RETURN \(STATUS \(SIZE\)\) answered with more than 500,000 users and shared mailboxes, the most one command may keep in memory/);
      return true;
    });
    const sent = await streamed!;
    t.diagnostic(`RSS of this process, which also runs the fake server: ${mb(rssBefore)} before the LIST, ${mb(process.memoryUsage().rss)} after; the server got ${sent.toLocaleString('en-US')} users onto the socket before the client closed it`);
    assert.ok(sent < USERS, 'the client closed the connection once it kept 500,000 users instead of reading on');
    assert.equal(session.usable, false);
  });
});
