import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackupFiles } from './backups-listing.js';
import { claimBatches, sharedCounter } from './claim-batches.js';
import { BACKUP_FINGERPRINT_NUMBERS, backupStillHolds, readBackupFingerprint, writeBackupFingerprint, type BackupFingerprint } from './file-fingerprint.js';

/** Below this many indexes the stats are done on this thread: handing them over would cost more. */
const PARALLEL_FROM = 4000;
/** A stat is a system call: past the cores, threads would only take turns. */
const MAX_WORKERS = 3;

/** A check's verdict per index, in shared memory so every thread writes its own part. */
const UNCHECKED = 0;
const UNCHANGED = 1;
const CHANGED = 2;
type Verdict = typeof UNCHECKED | typeof UNCHANGED | typeof CHANGED;

/** One check as a worker receives it; `files` only when the lists differ from the ones it holds. */
export interface UnchangedCheckJob {
  files?: BackupFiles;
  /** Per backup its fingerprint when last read (written by writeBackupFingerprint; none: nothing to compare with). */
  expected: Float64Array;
  verdicts: Uint8Array;
  next: Int32Array;
}

/** The stats and the comparison, the same on every thread. */
export function verdictOf(files: BackupFiles, expected: Float64Array, i: number): Verdict {
  const was = readBackupFingerprint(expected, BACKUP_FINGERPRINT_NUMBERS * i);
  return was && backupStillHolds(files.index[i]!, files.data[i]!, was) ? UNCHANGED : CHANGED;
}

interface CheckWorker {
  worker: Worker;
  /** The lists it holds, by identity: a scanner keeps the same object while backups.db does not change. */
  files: BackupFiles | undefined;
  alive: boolean;
}

/**
 * Which backups still have the fingerprint they had when last read: a stat of the index and one of the
 * data file each, the scheduler's whole cost of a scan when nothing changed. On a large server the stats
 * are shared with worker threads that live as long as this object (unreferenced between checks, so they
 * never keep the process alive).
 */
export class UnchangedIndexCheck {
  private readonly workers: CheckWorker[] = [];
  private readonly parallelFrom: number;
  private readonly workerCount: number;

  constructor(options: { parallelFrom?: number; workers?: number } = {}) {
    this.parallelFrom = options.parallelFrom ?? PARALLEL_FROM;
    this.workerCount = options.workers ?? Math.min(availableParallelism() - 1, MAX_WORKERS);
  }

  /** True where backup i's files still match `expected[i]`; an undefined expectation is never a match. */
  async check(files: BackupFiles, expected: ReadonlyArray<BackupFingerprint | undefined>): Promise<boolean[]> {
    const count = files.index.length;
    // A first scan has nothing to compare with: no stat, and no thread started for none.
    if (expected.every((fingerprint) => fingerprint === undefined)) return new Array<boolean>(count).fill(false);
    const job: UnchangedCheckJob = {
      expected: new Float64Array(new SharedArrayBuffer(BACKUP_FINGERPRINT_NUMBERS * count * Float64Array.BYTES_PER_ELEMENT)),
      verdicts: new Uint8Array(new SharedArrayBuffer(count)),
      next: sharedCounter(),
    };
    expected.forEach((fingerprint, i) => writeBackupFingerprint(job.expected, BACKUP_FINGERPRINT_NUMBERS * i, fingerprint));
    const helping = count >= this.parallelFrom ? this.startWorkers().map((w) => this.runOn(w, files, job)) : [];
    claimBatches(count, job.next, (i) => {
      job.verdicts[i] = verdictOf(files, job.expected, i);
    });
    await Promise.all(helping);
    // What a worker claimed and did not finish (it died) is checked here.
    return Array.from(job.verdicts, (verdict, i) => (verdict === UNCHECKED ? verdictOf(files, job.expected, i) : verdict) === UNCHANGED);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }

  private startWorkers(): CheckWorker[] {
    for (let i = this.workers.length - 1; i >= 0; i--) if (!this.workers[i]!.alive) this.workers.splice(i, 1);
    while (this.workers.length < this.workerCount) {
      const entry: CheckWorker = {
        worker: new Worker(new URL('./unchanged-index-check-worker.js', import.meta.url)),
        files: undefined,
        alive: true,
      };
      entry.worker.on('error', () => (entry.alive = false));
      entry.worker.on('exit', () => (entry.alive = false));
      entry.worker.unref();
      this.workers.push(entry);
    }
    return this.workers;
  }

  /** Resolves when the worker has checked all it claimed, or has died (its claims are then redone here). */
  private runOn(entry: CheckWorker, files: BackupFiles, job: UnchangedCheckJob): Promise<void> {
    return new Promise((resolve) => {
      const { worker } = entry;
      const finish = () => {
        worker.off('message', finish);
        worker.off('exit', finish);
        worker.off('error', finish);
        if (entry.alive) worker.unref();
        resolve();
      };
      worker.on('message', finish);
      worker.on('exit', finish);
      worker.on('error', finish);
      worker.ref();
      const sendFiles = entry.files !== files;
      entry.files = files;
      worker.postMessage(sendFiles ? { ...job, files } : job);
    });
  }
}
