import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { claimBatches, sharedCounter } from './claim-batches.js';
import { readIndexOf, type IndexRead } from './scan-read.js';
import { IndexReadRows, type SharedIndexReadRows, type WireError } from './scan-read-rows.js';

/** Below this many indexes a worker's start (tens of ms) costs more than it saves. */
const PARALLEL_FROM = 2000;
/** With the page cache warm an index read is CPU work: threads beyond the cores would only take turns. */
const MAX_WORKERS = 3;

/** What the scan hands to each worker. */
export interface IndexScanJob {
  dataFiles: readonly string[];
  rows: SharedIndexReadRows;
  /** Shared by every thread: the next index nobody has claimed yet. */
  next: Int32Array;
}

/**
 * Every index's read, in the order given. Many indexes are read by this thread and worker threads
 * together, each claiming the next batch as it gets through its own; the result is the same as
 * reading them one after the other.
 */
export async function readIndexes(dataFiles: readonly string[], options: { parallelFrom?: number } = {}): Promise<IndexRead[]> {
  const workers = dataFiles.length >= (options.parallelFrom ?? PARALLEL_FROM) ? Math.min(availableParallelism() - 1, MAX_WORKERS) : 0;
  if (workers <= 0) return dataFiles.map((dataFile) => readIndexOf(dataFile));
  const rows = IndexReadRows.create(dataFiles.length);
  const job: IndexScanJob = { dataFiles, rows: rows.shared, next: sharedCounter() };
  const fromWorkers = Array.from({ length: workers }, () => runWorker(job));
  claimBatches(dataFiles.length, job.next, (i) => rows.set(i, readIndexOf(dataFiles[i]!)));
  for (const errors of await Promise.all(fromWorkers)) for (const [i, error] of errors) rows.errors.set(i, error);
  // A worker that failed may have left rows it claimed unread: they are read here, so its failure changes nothing.
  return dataFiles.map((dataFile, i) => (rows.isComplete(i) ? rows.get(i) : readIndexOf(dataFile)));
}

/** The error rows the worker met, once it has read all it claimed; none when it failed (its rows are then read again). */
function runWorker(job: IndexScanJob): Promise<Array<[number, WireError]>> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./parallel-index-scan-worker.js', import.meta.url), { workerData: job });
    worker.once('message', resolve);
    worker.once('error', () => resolve([]));
    worker.once('exit', () => resolve([]));
  });
}
