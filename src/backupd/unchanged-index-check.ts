import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackupFiles } from './backups-listing.js';
import { claimBatches, sharedCounter } from './claim-batches.js';
import type { BackupFingerprint } from './scan-cache.js';

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
  /** Per backup the index's ino, size and mtimeMs, then the data file's; NaN ino when there is nothing to compare with. */
  expected: Float64Array;
  verdicts: Uint8Array;
  next: Int32Array;
}

/** Numbers per backup in `expected`. */
const WIDTH = 6;

/** The stats and the comparison, the same on every thread: the data file is looked at only when the index held. */
export function verdictOf(files: BackupFiles, expected: Float64Array, i: number): Verdict {
  if (Number.isNaN(expected[WIDTH * i]!)) return CHANGED;
  return holds(files.index[i]!, expected, WIDTH * i) && holds(files.data[i]!, expected, WIDTH * i + 3) ? UNCHANGED : CHANGED;
}

/** A file that cannot be stat'ed (gone, or a directory on its way refuses this process) has changed: its read says why. */
function holds(file: string, expected: Float64Array, at: number): boolean {
  let st;
  try {
    st = statSync(file, { throwIfNoEntry: false });
  } catch {
    return false;
  }
  return st !== undefined && st.ino === expected[at] && st.size === expected[at + 1] && st.mtimeMs === expected[at + 2];
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
      expected: new Float64Array(new SharedArrayBuffer(WIDTH * count * Float64Array.BYTES_PER_ELEMENT)),
      verdicts: new Uint8Array(new SharedArrayBuffer(count)),
      next: sharedCounter(),
    };
    expected.forEach((fingerprint, i) => {
      const at = WIDTH * i;
      if (!fingerprint) {
        job.expected[at] = Number.NaN;
        return;
      }
      const { index, data } = fingerprint;
      job.expected[at] = index.ino;
      job.expected[at + 1] = index.size;
      job.expected[at + 2] = index.mtimeMs;
      job.expected[at + 3] = data.ino;
      job.expected[at + 4] = data.size;
      job.expected[at + 5] = data.mtimeMs;
    });
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
