import type { BackupServerPaths } from '../config/backup-server.js';
import { useridFromCyrus } from '../backupd/cyrus-userid.js';
import { readCyrusDb } from '../backupd/cyrusdb/snapshot.js';
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
 * backups.db is read again because a first backup adds the user to it.
 */
export async function verifyBackups(
  paths: Pick<BackupServerPaths, 'backupsDb' | 'backupsDbFormat'>,
  userids: readonly string[],
  since: number,
): Promise<Verification[]> {
  if (userids.length === 0) return [];
  const db = await readCyrusDb(paths.backupsDb, { backend: paths.backupsDbFormat });
  const dataFiles = new Map(db.entries.map((e) => [useridFromCyrus(e.key.toString('utf8')), e.value.toString('utf8')]));
  // ts_end has whole seconds: a chunk that ended in the same second the command began counts.
  const sinceSecond = Math.floor(since / 1000) * 1000;
  return userids.map((userid): Verification => {
    const dataFile = dataFiles.get(userid);
    if (!dataFile) {
      return { userid, verified: false, lastBackup: null, reason: `no entry in ${paths.backupsDb}: the IMAP server's channel may point at another backup server` };
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
