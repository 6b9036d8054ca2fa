import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { claimBatches, sharedCounter } from './claim-batches.js';
import { BackupIndexError, type BackupIndexProblem } from './index-error.js';
import { readIndexOf, type IndexRead } from './index-read.js';

/** Below this many indexes a worker's start (tens of ms) costs more than it saves. */
const PARALLEL_FROM = 2000;
/** With the page cache warm an index read is CPU work: threads beyond the cores would only take turns. */
const MAX_WORKERS = 3;

/** What the scan hands to each worker. */
export interface IndexScanJob {
  dataFiles: readonly string[];
  /** Shared by every thread: the next index nobody has claimed yet. */
  next: Int32Array;
}

/** A read as it crosses between threads: an error as its parts, since its class would not survive the trip. */
export type WireRead = Omit<IndexRead, 'error'> & { error: { file: string; problem: BackupIndexProblem; detail: string } | null };

/**
 * Every index's read, in the order given. Many indexes are read by this thread and worker threads
 * together, each claiming the next batch as it gets through its own; the result is the same as
 * reading them one after the other.
 */
export async function readIndexes(dataFiles: readonly string[], options: { parallelFrom?: number } = {}): Promise<IndexRead[]> {
  const workers = dataFiles.length >= (options.parallelFrom ?? PARALLEL_FROM) ? Math.min(availableParallelism() - 1, MAX_WORKERS) : 0;
  if (workers <= 0) return dataFiles.map((dataFile) => readIndexOf(dataFile));
  const job: IndexScanJob = { dataFiles, next: sharedCounter() };
  const reads = new Array<IndexRead | undefined>(dataFiles.length);
  const fromWorkers = Array.from({ length: workers }, () => runWorker(job));
  claimBatches(dataFiles.length, job.next, (i) => {
    reads[i] = readIndexOf(dataFiles[i]!);
  });
  for (const batch of await Promise.all(fromWorkers)) for (const [i, read] of batch) reads[i] = fromWire(read);
  // A worker that failed handed nothing over: what it had claimed is read here, so its failure changes nothing.
  return reads.map((read, i) => read ?? readIndexOf(dataFiles[i]!));
}

export function toWire(read: IndexRead): WireRead {
  const { error } = read;
  return { ...read, error: error && { file: error.file, problem: error.problem, detail: error.detail } };
}

function fromWire(read: WireRead): IndexRead {
  const { error } = read;
  if (error === null) return read as IndexRead;
  return { fingerprint: read.fingerprint, summary: null, error: new BackupIndexError(error.file, error.problem, error.detail) };
}

/** What the worker read, by position; nothing when it failed (the caller reads those itself). */
function runWorker(job: IndexScanJob): Promise<Array<[number, WireRead]>> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./parallel-index-scan-worker.js', import.meta.url), { workerData: job });
    worker.once('message', resolve);
    worker.once('error', () => resolve([]));
    worker.once('exit', () => resolve([]));
  });
}
