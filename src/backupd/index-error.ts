import { READ_ACCESS_FIX } from '../config/read-access.js';

export type BackupIndexProblem = 'missing' | 'permission' | 'locked' | 'corrupt' | 'schema' | 'data-missing' | 'data-damaged';

const ADVICE: Record<BackupIndexProblem, string> = {
  missing: 'backups.db names a backup whose index does not exist; `ctl_backups reindex` rebuilds it, or the user was removed while backupd ran',
  permission: READ_ACCESS_FIX,
  locked: 'backupd or ctl_backups is writing it; it is read again next time',
  corrupt: 'the file is damaged; `ctl_backups verify` and `ctl_backups reindex` on the backup server tell more',
  schema: 'this is not a Cyrus 3 backup index (wrong tables or version)',
  'data-missing':
    'backups.db and the index name a backup data file that is not there; backupd refuses this user\'s backups (and leaves an empty data file) until it is restored from a copy of the backup partition',
  'data-damaged':
    'the backup data file does not hold the chunks its index describes, so backupd cannot append to it; restore it from a copy of the backup partition (`ctl_backups verify` may spin forever on a data file that is not gzip)',
};

/** A user's backup (its index or its data file) could not be read: the user shows as `unreadable` and the scan goes on. */
export class BackupIndexError extends Error {
  override readonly name = 'BackupIndexError';
  constructor(
    readonly file: string,
    readonly problem: BackupIndexProblem,
    /** What went wrong, without the advice; enough to rebuild the error on another thread. */
    readonly detail: string,
  ) {
    super(`${file}: ${detail} (${ADVICE[problem]})`);
  }
}
