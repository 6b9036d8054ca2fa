// A worker thread of UnchangedIndexCheck: keeps the scanner's file lists, stats the backups it claims per check.
import { parentPort } from 'node:worker_threads';
import type { BackupFiles } from './backups-listing.js';
import { claimBatches } from './claim-batches.js';
import { verdictOf, type UnchangedCheckJob } from './unchanged-index-check.js';

let files: BackupFiles = { index: [], data: [] };
parentPort!.on('message', (job: UnchangedCheckJob) => {
  if (job.files) files = job.files;
  claimBatches(files.index.length, job.next, (i) => {
    job.verdicts[i] = verdictOf(files, job.expected, i);
  });
  parentPort!.postMessage('done');
});
