// A worker thread of UnchangedIndexCheck: keeps the scanner's file list, stats the indexes it claims per check.
import { parentPort } from 'node:worker_threads';
import { claimBatches } from './claim-batches.js';
import { verdictOf, type UnchangedCheckJob } from './unchanged-index-check.js';

let files: readonly string[] = [];
parentPort!.on('message', (job: UnchangedCheckJob) => {
  if (job.files) files = job.files;
  claimBatches(files.length, job.next, (i) => {
    job.verdicts[i] = verdictOf(files[i]!, job.expected, i);
  });
  parentPort!.postMessage('done');
});
