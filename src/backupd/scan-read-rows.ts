// A whole scan's reads (scan-read.ts) in shared memory, so that several threads can make them.
import { BACKUP_FINGERPRINT_NUMBERS, readBackupFingerprint, writeBackupFingerprint } from './file-fingerprint.js';
import { BackupIndexError, type BackupIndexProblem } from './index-error.js';
import type { IndexRead } from './scan-read.js';

/** Kinds of row: 0 is a row nobody has read. */
const SUMMARY = 1;
const ERROR = 2;
/** Added to the kind of a row that SQLite read. */
const BY_SQLITE = 4;
/** Numbers per row: lastBackup, chunks, dataBytes, newestChunkId, then the backup's fingerprint. */
const FINGERPRINT = 4;
const WIDTH = FINGERPRINT + BACKUP_FINGERPRINT_NUMBERS;

/** An error as it crosses between threads: its class would not survive the trip. */
export type WireError = { file: string; problem: BackupIndexProblem; detail: string };

/**
 * What a thread's rows keep outside shared memory, handed over once it is through its part of a job:
 * the errors, and each summary's mailboxes (text, which has no place among the numbers).
 */
export interface HeldReads {
  errors: Map<number, WireError>;
  mailboxes: Map<number, string>;
}

/** The rows' memory, as handed to a worker thread. */
export interface SharedIndexReadRows {
  numbers: Float64Array;
  kinds: Uint8Array;
}

/**
 * The reads of a whole scan in shared memory, one row per index, each thread writing the rows it claimed:
 * a worker hands nothing over per index, so neither thread holds a hundred thousand result objects twice.
 * Errors, and the mailboxes' text, stay with the thread that read them until it hands them over (HeldReads).
 */
export class IndexReadRows {
  readonly held: HeldReads = { errors: new Map(), mailboxes: new Map() };

  constructor(readonly shared: SharedIndexReadRows) {}

  static create(count: number): IndexReadRows {
    return new IndexReadRows({
      numbers: new Float64Array(new SharedArrayBuffer(WIDTH * count * Float64Array.BYTES_PER_ELEMENT)),
      kinds: new Uint8Array(new SharedArrayBuffer(count)),
    });
  }

  /** What another thread's rows held: get() gives back their reads too. */
  takeOver(theirs: HeldReads): void {
    for (const [i, error] of theirs.errors) this.held.errors.set(i, error);
    for (const [i, mailboxes] of theirs.mailboxes) this.held.mailboxes.set(i, mailboxes);
  }

  /** Whether row `i` holds a read that get() can give back (a worker that died may have left it unread, or kept what it held). */
  isComplete(i: number): boolean {
    const kind = this.shared.kinds[i]! & ~BY_SQLITE;
    return (kind === SUMMARY && this.held.mailboxes.has(i)) || (kind === ERROR && this.held.errors.has(i));
  }

  set(i: number, read: IndexRead): void {
    const { numbers, kinds } = this.shared;
    const at = WIDTH * i;
    if (read.error) {
      this.held.errors.set(i, { file: read.error.file, problem: read.error.problem, detail: read.error.detail });
      kinds[i] = ERROR | (read.bySqlite ? BY_SQLITE : 0);
      return;
    }
    const { summary, fingerprint } = read;
    numbers[at] = summary.lastBackup ?? Number.NaN;
    numbers[at + 1] = summary.chunks;
    numbers[at + 2] = summary.dataBytes;
    numbers[at + 3] = summary.newestChunkId ?? Number.NaN;
    writeBackupFingerprint(numbers, at + FINGERPRINT, fingerprint);
    this.held.mailboxes.set(i, summary.mailboxes);
    kinds[i] = SUMMARY | (read.bySqlite ? BY_SQLITE : 0);
  }

  /** Row `i` as the read it recorded; `held` must hold what every thread held by now. */
  get(i: number): IndexRead {
    const { numbers } = this.shared;
    const at = WIDTH * i;
    const kind = this.shared.kinds[i]!;
    const bySqlite = (kind & BY_SQLITE) !== 0;
    if ((kind & ~BY_SQLITE) === ERROR) {
      const e = this.held.errors.get(i)!;
      return { bySqlite, summary: null, fingerprint: undefined, error: new BackupIndexError(e.file, e.problem, e.detail) };
    }
    const lastBackup = numbers[at]!;
    const newestChunkId = numbers[at + 3]!;
    const summary = {
      lastBackup: Number.isNaN(lastBackup) ? null : lastBackup,
      newestChunkId: Number.isNaN(newestChunkId) ? null : newestChunkId,
      chunks: numbers[at + 1]!,
      dataBytes: numbers[at + 2]!,
      mailboxes: this.held.mailboxes.get(i)!,
    };
    return { bySqlite, summary, fingerprint: readBackupFingerprint(numbers, at + FINGERPRINT), error: null };
  }
}
