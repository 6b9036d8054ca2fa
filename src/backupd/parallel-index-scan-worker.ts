// A worker thread of readIndexes(): reads the batches it claims into the shared rows, then hands over its errors.
import { parentPort, workerData } from 'node:worker_threads';
import { claimBatches } from './claim-batches.js';
import { readIndexOf } from './scan-read.js';
import { IndexReadRows } from './scan-read-rows.js';
import type { IndexScanJob } from './parallel-index-scan.js';

const job = workerData as IndexScanJob;
const rows = new IndexReadRows(job.rows);
claimBatches(job.dataFiles.length, job.next, (i) => rows.set(i, readIndexOf(job.dataFiles[i]!)));
parentPort!.postMessage([...rows.errors]);
