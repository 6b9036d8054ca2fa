// A worker thread of readIndexes(): reads the batches it claims and hands them over in one message.
import { parentPort, workerData } from 'node:worker_threads';
import { claimBatches } from './claim-batches.js';
import { readIndexOf } from './index-read.js';
import { toWire, type IndexScanJob, type WireRead } from './parallel-index-scan.js';

const job = workerData as IndexScanJob;
const reads: Array<[number, WireRead]> = [];
claimBatches(job.dataFiles.length, job.next, (i) => reads.push([i, toWire(readIndexOf(job.dataFiles[i]!))]));
parentPort!.postMessage(reads);
