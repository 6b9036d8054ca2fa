// Lock-free reads racing a real Cyrus writer: while `cyr_dbtool batch` commits a
// few hundred transactions (sets, overwrites, deletes; twoskip repacks and skiplist
// checkpoints happen along the way), every snapshot readCyrusDb accepts must be one
// of the committed states, states never go backwards, and the last read is the final state.
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { CyrusDbError } from '../../../src/backupd/cyrusdb/errors.js';
import { readCyrusDb } from '../../../src/backupd/cyrusdb/snapshot.js';
import type { CyrusDbEntry } from '../../../src/backupd/cyrusdb/types.js';
import { committedStates, entriesInOrder, type ModelState } from './helpers/batch-model.js';
import { CyrusWorkspace, cyrDbToolUnavailableReason, feedTransactions, type BatchCommand } from './helpers/cyr-dbtool.js';
import { seededRandom } from './helpers/seeded-random.js';

const TRANSACTIONS = 300;
const WRITER_PROCESSES = 6;
const INITIAL_USERS = 50;
const unavailable = cyrDbToolUnavailableReason();

/** Every transaction also bumps a sequence key, so no two committed states are equal. */
function generateWorkload(seed: number): { initial: BatchCommand[]; transactions: BatchCommand[][] } {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const live = new Set<string>();
  let nextUser = 0;
  const path = (userid: string, version: number) => Buffer.from(`/var/spool/cyrus/backup/${userid[0]}/${userid}_v${version}_${'x'.repeat(30)}`);
  const newUser = () => {
    const userid = `user${String(nextUser++).padStart(5, '0')}${pick(['', '@example.com', '@dom.example.org'])}`;
    live.add(userid);
    return userid;
  };
  const sequence = (n: number): BatchCommand => ({ op: 'SET', key: Buffer.from('~sequence'), value: Buffer.from(String(n)) });

  const initial: BatchCommand[] = [{ op: 'BEGIN' }, sequence(0)];
  for (let i = 0; i < INITIAL_USERS; i++) {
    const userid = newUser();
    initial.push({ op: 'SET', key: Buffer.from(userid), value: path(userid, 0) });
  }
  initial.push({ op: 'COMMIT' });

  const transactions: BatchCommand[][] = [];
  for (let n = 1; n <= TRANSACTIONS; n++) {
    const transaction: BatchCommand[] = [{ op: 'BEGIN' }];
    const operations = 1 + Math.floor(random() * 4);
    for (let i = 0; i < operations; i++) {
      const choice = random();
      if (choice < 0.4 || live.size < 10) {
        const userid = newUser();
        transaction.push({ op: 'SET', key: Buffer.from(userid), value: path(userid, n) });
      } else if (choice < 0.75) {
        const userid = pick([...live]);
        transaction.push({ op: 'SET', key: Buffer.from(userid), value: path(userid, n) });
      } else {
        const userid = pick([...live]);
        live.delete(userid);
        transaction.push({ op: 'DELETE', key: Buffer.from(userid) });
      }
    }
    transaction.push(sequence(n), { op: 'COMMIT' });
    transactions.push(transaction);
  }
  return { initial, transactions };
}

const serialize = (entries: readonly CyrusDbEntry[]) => entries.map(({ key, value }) => `${key.toString('hex')}=${value.toString('hex')}`).join(',');

describe('lock-free reads against a live cyr_dbtool writer', () => {
  for (const backend of ['twoskip', 'skiplist'] as const) {
    if (unavailable !== undefined) {
      test.skip(`${backend}: ${unavailable}`);
      continue;
    }
    test(`${backend}: every accepted snapshot is a committed state, in order`, { timeout: 120_000 }, async (t) => {
      const workspace = await CyrusWorkspace.create();
      try {
        const db = workspace.path('backups.db');
        const { initial, transactions } = generateWorkload(backend === 'twoskip' ? 1 : 2);
        await workspace.batch(db, backend, initial, { create: true });
        const [initialState] = committedStates(initial).slice(-1);
        const states: ModelState[] = committedStates(transactions.flat(), initialState);
        assert.equal(states.length, TRANSACTIONS + 1);
        const stateIndex = new Map(states.map((state, index) => [serialize(entriesInOrder(state, backend)), index]));

        // Several writer processes one after another, like backupd's short-lived writes:
        // twoskip repacks (rename) when a process closes the grown file, skiplist
        // checkpoints (rename, old inode truncated to 0) when a commit grows it enough.
        let current: ChildProcessWithoutNullStreams | undefined;
        let running = true;
        t.after(() => {
          running = false; // if the reader failed: stop writing too
          current?.kill();
        });
        const writing = (async () => {
          const perProcess = Math.ceil(TRANSACTIONS / WRITER_PROCESSES);
          for (let start = 0; start < TRANSACTIONS && running; start += perProcess) {
            current = workspace.spawnBatch(db, backend);
            await feedTransactions(current, transactions.slice(start, start + perProcess));
          }
        })().finally(() => (running = false));
        writing.catch(() => undefined); // awaited below; this only keeps an early reader failure from leaving it unhandled

        let reads = 0;
        let refused = 0;
        let retries = 0;
        let latest = 0;
        const seen = new Set<number>();
        const inodes = new Set<number>();
        while (running) {
          inodes.add((await stat(db)).ino);
          let snapshot;
          try {
            snapshot = await readCyrusDb(db, { backend });
          } catch (error) {
            // Giving up because the file never held still is allowed (it returns nothing); any other error is not.
            if (!(error instanceof CyrusDbError && error.code === 'UNREADABLE')) throw error;
            refused++;
            continue;
          }
          const index = stateIndex.get(serialize(snapshot.entries));
          assert.ok(index !== undefined, `read ${reads + 1} returned a state that was never committed (${snapshot.entries.length} entries)`);
          assert.ok(index >= latest, `read ${reads + 1} went back from state ${latest} to ${index}`);
          latest = index;
          seen.add(index);
          reads++;
          retries += snapshot.attempts - 1;
        }
        await writing;

        const final = await readCyrusDb(db, { backend });
        assert.equal(final.backend, backend);
        assert.equal(stateIndex.get(serialize(final.entries)), TRANSACTIONS, 'the last read is the final committed state');
        t.diagnostic(
          `${reads} snapshots during ${TRANSACTIONS} transactions, ${seen.size} distinct committed states seen, ` +
            `${retries} retries, ${refused} reads given up because the file kept changing, ${inodes.size} inodes`,
        );
        assert.ok(inodes.size >= 2, `Cyrus ${backend === 'twoskip' ? 'repacked' : 'checkpointed'} the file (a rename) while it was being read`);
        assert.ok(seen.size >= 3, 'the reads overlapped the writer');
        assert.ok(refused * 10 <= reads, 'giving up is rare even with a writer committing every few milliseconds');
      } finally {
        await workspace.remove();
      }
    });
  }
});
