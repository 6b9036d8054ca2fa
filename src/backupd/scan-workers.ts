import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackupFiles } from './backups-listing.js';
import { claimBatches, sharedCounter } from './claim-batches.js';
import { BACKUP_FINGERPRINT_NUMBERS, backupStillHoldsAt, writeBackupFingerprint, type BackupFingerprint } from './file-fingerprint.js';
import { IndexReadRows, type HeldReads, type SharedIndexReadRows } from './scan-read-rows.js';
import { readIndexOf, type IndexRead } from './scan-read.js';

/**
 * Below this many items a job stays on this thread: handing it over would cost more than the threads
 * save. A read is CPU work once the page cache is warm; a stat is a system call.
 */
const PARALLEL_FROM = { read: 2000, stat: 4000 };
/** Threads beyond the cores would only take turns. */
const MAX_WORKERS = 3;

/** A stat check's verdict per backup, in shared memory so every thread writes its own part. */
const UNCHECKED = 0;
const UNCHANGED = 1;
const CHANGED = 2;

/** Which backups still have the fingerprint they had when last read. */
export interface StatJob {
  kind: 'stat';
  id: number;
  files: BackupFiles;
  /** Per backup its fingerprint when last read (writeBackupFingerprint), or none: nothing to compare with. */
  expected: Float64Array;
  verdicts: Uint8Array;
  /** Shared by every thread: the next item nobody has claimed yet. */
  next: Int32Array;
}

/** Every index's read. */
export interface ReadJob {
  kind: 'read';
  id: number;
  dataFiles: readonly string[];
  pageReader: boolean;
  rows: SharedIndexReadRows;
  next: Int32Array;
}

export type ScanJob = StatJob | ReadJob;

/**
 * A job as posted to a worker: a stat check without its lists when the worker holds them already (a
 * scanner keeps one object while backups.db does not change), so that they cross once.
 */
export type PostedJob = ScanJob | (Omit<StatJob, 'files'> & { files: undefined });

/** A worker's answer once it has done all it claimed of job `id`: what its rows held (none for a stat check). */
export interface JobDone {
  id: number;
  reads: HeldReads;
}

const nothingHeld = (): HeldReads => ({ errors: new Map(), mailboxes: new Map() });

/** The stats and the comparison of backup `i`, the same on every thread. */
function verdictOf(files: BackupFiles, expected: Float64Array, i: number): number {
  return backupStillHoldsAt(files.index[i]!, files.data[i]!, expected, BACKUP_FINGERPRINT_NUMBERS * i) ? UNCHANGED : CHANGED;
}

/** This thread's part of `job`: the batches it claims, until none is left; what its reads left outside shared memory. */
export function doClaimedPart(job: ScanJob): HeldReads {
  if (job.kind === 'stat') {
    const { files, expected, verdicts } = job;
    claimBatches(files.index.length, job.next, (i) => {
      verdicts[i] = verdictOf(files, expected, i);
    });
    return nothingHeld();
  }
  const rows = new IndexReadRows(job.rows);
  claimBatches(job.dataFiles.length, job.next, (i) => rows.set(i, readIndexOf(job.dataFiles[i]!, job.pageReader)));
  return rows.held;
}

interface PoolWorker {
  worker: Worker;
  /** The stat lists it holds, by identity. */
  files: BackupFiles | undefined;
  alive: boolean;
}

export interface ScanWorkersOptions {
  /** Threads besides this one (default: one per core but this thread's, at most MAX_WORKERS); 0 keeps every job here. */
  workers?: number;
  /** Jobs of this many items or more are shared (default: PARALLEL_FROM of their kind). */
  parallelFrom?: number;
  /**
   * For a scanner that scans once (`report`): stat checks stay on this thread. The threads pay off across
   * scans, keeping the file names; for one scan the hand-over of every name costs more than the stats shared.
   */
  scansOnce?: boolean;
}

/**
 * The scan's worker threads, for both of its jobs: the stat check of the backups read before, and the
 * reads of the others. A large job is shared with them, each thread claiming the next batch as it gets
 * through its own; the result is the one this thread alone would reach. They start with the first job
 * large enough and live until close() (a later job starts them again), unreferenced between jobs so
 * that they never keep the process alive. A worker that dies leaves what it claimed to this thread.
 */
export class ScanWorkers {
  private readonly workers: PoolWorker[] = [];
  private readonly workerCount: number;
  private readonly from: { read: number; stat: number };
  private nextJobId = 0;

  constructor(options: ScanWorkersOptions = {}) {
    this.workerCount = options.workers ?? Math.min(availableParallelism() - 1, MAX_WORKERS);
    const from = options.parallelFrom;
    this.from = { read: from ?? PARALLEL_FROM.read, stat: options.scansOnce ? Number.POSITIVE_INFINITY : (from ?? PARALLEL_FROM.stat) };
  }

  /** True where backup i's files still match `expected[i]`; an undefined expectation is never a match. */
  async unchanged(files: BackupFiles, expected: ReadonlyArray<BackupFingerprint | undefined>): Promise<boolean[]> {
    const count = files.index.length;
    // A first scan has nothing to compare with: no stat, and no thread started for none.
    if (expected.every((fingerprint) => fingerprint === undefined)) return new Array<boolean>(count).fill(false);
    const job: StatJob = {
      kind: 'stat',
      id: this.nextJobId++,
      files,
      expected: new Float64Array(new SharedArrayBuffer(BACKUP_FINGERPRINT_NUMBERS * count * Float64Array.BYTES_PER_ELEMENT)),
      verdicts: new Uint8Array(new SharedArrayBuffer(count)),
      next: sharedCounter(),
    };
    expected.forEach((fingerprint, i) => writeBackupFingerprint(job.expected, BACKUP_FINGERPRINT_NUMBERS * i, fingerprint));
    await this.share(job, count >= this.from.stat);
    // What a worker claimed and did not finish (it died) is checked here.
    return Array.from(job.verdicts, (verdict, i) => (verdict === UNCHECKED ? verdictOf(files, job.expected, i) : verdict) === UNCHANGED);
  }

  /** Every index's read, in the order given; `pageReader` false (backupd.pageReader): every one by SQLite. */
  async readIndexes(dataFiles: readonly string[], pageReader = true): Promise<IndexRead[]> {
    if (dataFiles.length < this.from.read || this.workerCount <= 0) return dataFiles.map((dataFile) => readIndexOf(dataFile, pageReader));
    const rows = IndexReadRows.create(dataFiles.length);
    const job: ReadJob = { kind: 'read', id: this.nextJobId++, dataFiles, pageReader, rows: rows.shared, next: sharedCounter() };
    for (const held of await this.share(job, true)) rows.takeOver(held);
    // A worker that failed may have left rows it claimed unread: they are read here, so its failure changes nothing.
    return dataFiles.map((dataFile, i) => (rows.isComplete(i) ? rows.get(i) : readIndexOf(dataFile, pageReader)));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }

  /** `job` done by this thread and, when `shared`, the workers: what every thread held, once all are through. */
  private async share(job: ScanJob, shared: boolean): Promise<HeldReads[]> {
    const helping = shared ? this.startWorkers().map((w) => this.runOn(w, job)) : [];
    const mine = doClaimedPart(job);
    return [mine, ...(await Promise.all(helping))];
  }

  private startWorkers(): PoolWorker[] {
    for (let i = this.workers.length - 1; i >= 0; i--) if (!this.workers[i]!.alive) this.workers.splice(i, 1);
    while (this.workers.length < this.workerCount) {
      const entry: PoolWorker = { worker: new Worker(new URL('./scan-worker-thread.js', import.meta.url)), files: undefined, alive: true };
      entry.worker.on('error', () => (entry.alive = false));
      entry.worker.on('exit', () => (entry.alive = false));
      entry.worker.unref();
      this.workers.push(entry);
    }
    return this.workers;
  }

  /** Resolves with what the worker held once it has done all it claimed, or with nothing when it died (its claims are then redone here). */
  private runOn(entry: PoolWorker, job: ScanJob): Promise<HeldReads> {
    return new Promise((resolve) => {
      const { worker } = entry;
      const finish = (held: HeldReads) => {
        worker.off('message', answered);
        worker.off('exit', gone);
        worker.off('error', gone);
        if (entry.alive) worker.unref();
        resolve(held);
      };
      const answered = (done: JobDone) => {
        if (done.id === job.id) finish(done.reads);
      };
      const gone = () => finish(nothingHeld());
      worker.on('message', answered);
      worker.on('exit', gone);
      worker.on('error', gone);
      worker.ref();
      let posted: PostedJob = job;
      if (job.kind === 'stat') {
        if (entry.files === job.files) posted = { ...job, files: undefined };
        entry.files = job.files;
      }
      worker.postMessage(posted);
    });
  }
}
