import type { BackupsDbReader } from '../backupd/backups-listing.js';
import { BackupIndexError } from '../backupd/index-error.js';
import { readBackupIndex } from '../backupd/index-reader.js';

export interface Verification {
  userid: string;
  verified: boolean;
  /** End of the newest chunk now in the index (ms), null when there is none. */
  lastBackup: number | null;
  /** Why it is not verified, in words an admin can act on. */
  reason: string | null;
}

/**
 * After `* OK USER x`, x's index must hold a chunk that ended at or after the command began; otherwise the
 * IMAP server sent the data somewhere else (its channel points at another backup server) or nowhere.
 * backups.db is looked at again because a first backup adds the user to it (read again only when it changed).
 */
export async function verifyBackups(backupsDb: BackupsDbReader, userids: readonly string[], since: number): Promise<Verification[]> {
  if (userids.length === 0) return [];
  const listing = await backupsDb.listing();
  const { backupsDb: backupsDbPath } = backupsDb.paths;
  // ts_end has whole seconds: a chunk that ended in the same second the command began counts.
  const sinceSecond = Math.floor(since / 1000) * 1000;
  return userids.map((userid): Verification => {
    const dataFile = listing?.dataFiles.get(userid);
    if (!dataFile) {
      return { userid, verified: false, lastBackup: null, reason: `no entry in ${backupsDbPath}: the IMAP server's channel may point at another backup server` };
    }
    try {
      const { lastBackup } = readBackupIndex(dataFile);
      if (lastBackup !== null && lastBackup >= sinceSecond) return { userid, verified: true, lastBackup, reason: null };
      return {
        userid,
        verified: false,
        lastBackup,
        reason: `no new chunk in ${dataFile}.index since the command began: the IMAP server's channel may point at another backup server`,
      };
    } catch (err) {
      if (!(err instanceof BackupIndexError)) throw err;
      return { userid, verified: false, lastBackup: null, reason: err.message };
    }
  });
}
