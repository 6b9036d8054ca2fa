// A thread of ScanWorkers: does its part of each job it is posted, then answers; keeps the stat lists between jobs.
import { parentPort } from 'node:worker_threads';
import type { BackupFiles } from './backups-listing.js';
import { doClaimedPart, type JobDone, type PostedJob } from './scan-workers.js';

let held: BackupFiles = { index: [], data: [] };
parentPort!.on('message', (posted: PostedJob) => {
  const job = posted.kind === 'stat' ? { ...posted, files: (held = posted.files ?? held) } : posted;
  const done: JobDone = { id: job.id, reads: doClaimedPart(job) };
  parentPort!.postMessage(done);
});
