// Fault: backups.db rewritten (repacked) under the scheduler while it reads it in a tight loop.
// Cyrus's twoskip repacks when a writer that made the file grow past twice its size at the last
// repack lets go of it: it writes every live pair into `<file>.NEW` and renames that over the file
// (cyrusdb-formats.md §2.8). The writer here is the real `cyr_dbtool`, which runs the same twoskip
// code as backupd, committing large values over and over in short-lived processes, so nearly every
// process repacks as it exits. Meanwhile readCyrusDb reads the file as fast as it can. Every read
// must be exactly one committed state (never a mix of two, never a state that was not committed),
// states never go backwards, and nothing but a clean "still changing" refusal may come out of it.
// The test fails unless repacks really happened (the header's generation counts them, the inode
// changes with each) while it read.
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { CyrusDbError } from '../../src/backupd/cyrusdb/errors.js';
import { readCyrusDb } from '../../src/backupd/cyrusdb/snapshot.js';
import type { CyrusDbEntry } from '../../src/backupd/cyrusdb/types.js';
import { committedStates, entriesInOrder, type ModelState } from '../backupd/cyrusdb/helpers/batch-model.js';
import { CyrusWorkspace, cyrDbToolUnavailableReason, feedTransactions, type BatchCommand } from '../backupd/cyrusdb/helpers/cyr-dbtool.js';
import { seededRandom } from '../backupd/cyrusdb/helpers/seeded-random.js';
import { faultSeed, scaled } from './support/soak.js';

/** Reads and repacks the test needs at least (CI; `npm run soak` goes on much longer). */
const MIN_READS = scaled('XBS_FAULT_REPACK_READS', 1_000, 20_000);
const MIN_REPACKS = scaled('XBS_FAULT_REPACKS', 20, 300);
/** Commits per cyr_dbtool process: a few large values grow the file past twice its repacked size. */
const COMMITS_PER_WRITER = 6;
const BIG_VALUE_BYTES = 12 * 1024;
const USERS = 40;
/** A bound on writer processes, so a Cyrus that never repacks fails the test instead of looping. */
const MAX_WRITERS = MIN_REPACKS * 4 + 40;
const SEQUENCE_KEY = Buffer.from('~sequence');
const BIG_KEY = Buffer.from('~big');
const TEST_TIMEOUT_MS = 120_000 + MAX_WRITERS * 1_500;
const unavailable = cyrDbToolUnavailableReason();

/** A digest of a state's pairs in file order, to compare reads with committed states cheaply. */
function digest(entries: readonly CyrusDbEntry[]): string {
  const hash = createHash('sha1');
  const length = Buffer.alloc(4);
  for (const { key, value } of entries) {
    length.writeUInt32BE(key.length);
    hash.update(length).update(key);
    length.writeUInt32BE(value.length);
    hash.update(length).update(value);
  }
  return hash.digest('hex');
}

/**
 * Transactions made on demand, each bumping the sequence key (so every committed state is told
 * apart by it) and setting or deleting the large value, with a few backups.db-like changes beside.
 */
class Workload {
  private readonly random: () => number;
  private state: ModelState = new Map();
  private sequence = 0;
  private nextUser = 0;
  private readonly live: string[] = [];
  /** Digest of every committed state, by its sequence number. */
  readonly expected = new Map<number, string>();

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  initial(): BatchCommand[] {
    const commands: BatchCommand[] = [{ op: 'BEGIN' }, this.set(SEQUENCE_KEY, '0'), { op: 'SET', key: BIG_KEY, value: this.bigValue() }];
    for (let i = 0; i < USERS; i++) commands.push(this.newUser());
    commands.push({ op: 'COMMIT' });
    this.commit(commands);
    return commands;
  }

  next(): BatchCommand[] {
    const n = ++this.sequence;
    const commands: BatchCommand[] = [{ op: 'BEGIN' }, this.set(SEQUENCE_KEY, String(n))];
    const hasBig = this.state.has(BIG_KEY.toString('hex'));
    commands.push(!hasBig || this.random() < 0.7 ? { op: 'SET', key: BIG_KEY, value: this.bigValue() } : { op: 'DELETE', key: BIG_KEY });
    for (let i = Math.floor(this.random() * 3); i > 0; i--) {
      const choice = this.random();
      if (choice < 0.4 || this.live.length < 5) commands.push(this.newUser());
      else if (choice < 0.7) commands.push(this.overwrite(this.pickUser()));
      else commands.push({ op: 'DELETE', key: Buffer.from(this.live.splice(Math.floor(this.random() * this.live.length), 1)[0]!) });
    }
    commands.push({ op: 'COMMIT' });
    this.commit(commands);
    return commands;
  }

  private commit(commands: readonly BatchCommand[]): void {
    const states = committedStates(commands, this.state);
    this.state = states.at(-1)!;
    this.expected.set(this.sequence, digest(entriesInOrder(this.state, 'twoskip')));
  }

  private set(key: Buffer, value: string): BatchCommand {
    return { op: 'SET', key, value: Buffer.from(value) };
  }

  private newUser(): BatchCommand {
    const userid = `user${String(this.nextUser++).padStart(5, '0')}${this.random() < 0.3 ? '@example.com' : ''}`;
    this.live.push(userid);
    return this.set(Buffer.from(userid), this.path(userid));
  }

  private overwrite(userid: string): BatchCommand {
    return this.set(Buffer.from(userid), this.path(userid));
  }

  private pickUser(): string {
    return this.live[Math.floor(this.random() * this.live.length)]!;
  }

  private path(userid: string): string {
    return `/var/spool/cyrus/backup/${userid[0]}/${userid}_${Math.floor(this.random() * 1e9).toString(36)}`;
  }

  /** Different bytes every time (the sequence number and random filler), so a mix of two would show. */
  private bigValue(): Buffer {
    const value = Buffer.alloc(BIG_VALUE_BYTES);
    for (let i = 0; i < value.length; i += 4) value.writeUInt32BE((this.random() * 2 ** 32) >>> 0, i);
    value.write(`seq=${this.sequence};`, 0, 'latin1');
    return value;
  }
}

/** The header fields that show a repack: the generation (+1 per rewrite) and the inode. */
async function repackMarks(file: string): Promise<{ generation: bigint; ino: number }> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(64);
    await handle.read(header, 0, 64, 0);
    return { generation: header.readBigUInt64BE(24), ino: (await handle.stat()).ino };
  } finally {
    await handle.close();
  }
}

describe('fault: backups.db repacked by Cyrus while the scheduler reads it', () => {
  if (unavailable !== undefined) {
    test.skip(unavailable);
    return;
  }

  test(`every read is one committed state across at least ${MIN_REPACKS} real twoskip repacks and ${MIN_READS} reads`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const seed = faultSeed();
    const workspace = await CyrusWorkspace.create();
    t.after(() => workspace.remove());
    const db = workspace.path('backups.db');
    const workload = new Workload(seed);
    await workspace.batch(db, 'twoskip', workload.initial(), { create: true });
    const start = await repackMarks(db);

    let reads = 0;
    let refused = 0;
    let retries = 0;
    let latest = 0;
    let writers = 0;
    const seen = new Set<number>();
    const generationsSeen = new Set<bigint>();
    const inodesSeen = new Set<number>();
    let repacks = 0;
    let running = true;
    let current: ChildProcessWithoutNullStreams | undefined;
    t.after(() => {
      running = false; // if the reader failed: stop writing too
      current?.kill();
    });

    const writing = (async () => {
      // Until enough repacks and reads have happened, with a bound in case Cyrus never repacks.
      while (running && (repacks < MIN_REPACKS || reads < MIN_READS) && writers < MAX_WRITERS) {
        const transactions = Array.from({ length: COMMITS_PER_WRITER }, () => workload.next());
        current = workspace.spawnBatch(db, 'twoskip');
        writers++;
        await feedTransactions(current, transactions);
        repacks = Number((await repackMarks(db)).generation - start.generation);
      }
    })().finally(() => (running = false));
    writing.catch(() => undefined); // awaited below; this only keeps an early reader failure from leaving it unhandled

    const began = Date.now();
    while (running) {
      const marks = await repackMarks(db);
      generationsSeen.add(marks.generation);
      inodesSeen.add(marks.ino);
      let snapshot;
      try {
        snapshot = await readCyrusDb(db, { backend: 'twoskip' });
      } catch (error) {
        // Giving up because the file never held still is allowed; any other error is not.
        if (!(error instanceof CyrusDbError && error.code === 'UNREADABLE')) throw error;
        refused++;
        continue;
      }
      const sequenceEntry = snapshot.entries.find((e) => e.key.equals(SEQUENCE_KEY));
      assert.ok(sequenceEntry, `read ${reads + 1} has no ${SEQUENCE_KEY} key: not a committed state`);
      const sequence = Number(sequenceEntry.value.toString());
      assert.equal(digest(snapshot.entries), workload.expected.get(sequence), `read ${reads + 1} is not exactly committed state ${sequence} (${snapshot.entries.length} pairs)`);
      assert.ok(sequence >= latest, `read ${reads + 1} went back from state ${latest} to ${sequence}`);
      latest = sequence;
      seen.add(sequence);
      reads++;
      retries += snapshot.attempts - 1;
    }
    await writing;
    const seconds = (Date.now() - began) / 1000;

    const final = await readCyrusDb(db, { backend: 'twoskip' });
    const lastSequence = Math.max(...workload.expected.keys());
    assert.equal(digest(final.entries), workload.expected.get(lastSequence), 'the last read is the last committed state');
    const end = await repackMarks(db);
    const line =
      `backups.db repack: ${reads} reads in ${seconds.toFixed(1)} s while ${writers} cyr_dbtool processes made ${lastSequence} commits; ` +
      `${repacks} repacks (generation ${start.generation} -> ${end.generation}), the reader saw ${generationsSeen.size} generations and ${inodesSeen.size} inodes; ` +
      `${seen.size} distinct states read, ${retries} retries, ${refused} reads given up as still changing; mixed or torn states returned 0; seed ${seed}`;
    console.log(line);
    assert.ok(repacks >= MIN_REPACKS, `Cyrus repacked the file ${repacks} times in ${writers} writer processes; at least ${MIN_REPACKS} needed\n${line}`);
    assert.ok(inodesSeen.size >= 2 && generationsSeen.size >= 2, `the reads overlapped repacks (the file was replaced while being read)\n${line}`);
    assert.ok(reads >= MIN_READS, `at least ${MIN_READS} reads during the writes\n${line}`);
    assert.ok(refused * 10 <= reads, `giving up is rare even while the file is rewritten\n${line}`);
  });
});
