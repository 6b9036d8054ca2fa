// What keeping every mailbox's state costs this process: discovery against a fake server of N users with
// ten mailboxes each, once asking for sizes only (as before the comparison) and once for the compared items
// too, measuring the heap the answer keeps (after a full GC) and the time it takes to read it. Run with
// --expose-gc (`npm run bench:live-memory`). Not a test: the figures are printed, nothing is asserted.
import { parseArgs } from 'node:util';
import { compileUseridPattern } from '../src/cyrus-names/userid-pattern.js';
import { AdminSession } from '../src/imap/admin-session.js';
import { discoverUsers, type ServerUsers } from '../src/imap/discover-users.js';
import { FakeImapServer } from '../test/imap/support/fake-imap-server.js';
import { stream } from '../test/imap/support/hostile-session.js';
import { formatCount } from './format.js';

const FOLDERS = ['', '.Sent', '.Drafts', '.Trash', '.Junk', '.Archive', '.Archive.2024', '.Archive.2025', '.Lists', '.Lists.cyrus'];
const CAPABILITIES = 'IMAP4rev1 LITERAL+ ID NAMESPACE AUTH=PLAIN SASL-IR LIST-EXTENDED LIST-STATUS STATUS=SIZE CONDSTORE';

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc (npm run bench:live-memory)');
  collect();
  collect();
}

/** One discovery of `users` users; the heap it keeps and how long it took. */
async function measure(users: number, compare: boolean): Promise<{ heapMiB: number; seconds: number; compared: number }> {
  const server = await FakeImapServer.start({
    capabilities: CAPABILITIES,
    handlers: {
      LIST: async (c, conn) => {
        if (c.args[1] === '') return conn.write(`* LIST (\\Noselect) "." ""\r\n${c.tag} OK Completed\r\n`);
        const withState = c.args.includes('HIGHESTMODSEQ');
        const lines = users * FOLDERS.length;
        await stream(conn, lines, (i) => {
          const name = `user.u${String(Math.floor(i / FOLDERS.length)).padStart(6, '0')}${FOLDERS[i % FOLDERS.length]}`;
          const state = withState ? `MESSAGES ${i % 500} UIDNEXT ${(i % 500) + 20} UIDVALIDITY ${1700000000 + (i % 1000)} HIGHESTMODSEQ ${(i % 9000) + 100} ` : '';
          return `* LIST (\\HasNoChildren) "." ${name}\r\n* STATUS ${name} (${state}SIZE ${(i % 500) * 40_000})\r\n`;
        });
        conn.write(`${c.tag} OK Completed\r\n`);
      },
    },
  });
  try {
    const session = await AdminSession.open(server.serverConfig({ commandTimeout: 3_600_000 }));
    try {
      gc();
      const before = process.memoryUsage().heapUsed;
      const started = performance.now();
      const found: ServerUsers = await discoverUsers(session, [compileUseridPattern('*')], { compare });
      const seconds = (performance.now() - started) / 1000;
      gc();
      const heapMiB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
      return { heapMiB, seconds, compared: found.users.filter((u) => u.live !== null).length };
    } finally {
      await session.close();
    }
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { users: { type: 'string', default: '100000' } } });
  const users = Number(values.users);
  if (!Number.isInteger(users) || users < 1) throw new Error(`--users expects a whole number ≥ 1, got ${values.users}`);
  const sizes = await measure(users, false);
  const state = await measure(users, true);
  console.log(`discovery of ${formatCount(users)} users × ${FOLDERS.length} mailboxes from a fake server, heap kept after a full GC`);
  console.log('| asked for | heap kept | per mailbox | read in | users compared |');
  console.log('|---|---|---|---|---|');
  for (const [label, m] of [['SIZE (before the comparison)', sizes], ['SIZE and the compared items', state]] as const) {
    const perMailbox = (m.heapMiB * 2 ** 20) / (users * FOLDERS.length);
    console.log(`| ${label} | ${m.heapMiB.toFixed(1)} MiB | ${perMailbox.toFixed(0)} B | ${m.seconds.toFixed(1)} s | ${formatCount(m.compared)} |`);
  }
  console.log(`ratio, heap: ${(state.heapMiB / sizes.heapMiB).toFixed(1)}×; time: ${(state.seconds / sizes.seconds).toFixed(2)}×`);
}

await main();
