import type { BackupServerPaths } from '../config/backup-server.js';
import { readBackupIndex } from './backup-summary.js';
import { readCyrusDb } from './cyrusdb/snapshot.js';
import { BackupIndexError } from './index-error.js';

export interface BackupServerProbe {
  users: number;
  sampled: number;
  unreadable: Array<{ userid: string; error: string }>;
  /** Detected from the file's magic, which is what counts (Cyrus itself goes by it). */
  backend: string | null;
}

/** Reads backups.db and up to `sampleSize` indexes spread over it: enough to catch a permission problem. */
export async function probeBackupServer(paths: Pick<BackupServerPaths, 'backupsDb' | 'backupsDbFormat'>, sampleSize = 20): Promise<BackupServerProbe> {
  const db = await readCyrusDb(paths.backupsDb, { backend: paths.backupsDbFormat });
  const step = Math.max(1, Math.floor(db.entries.length / sampleSize));
  const sample = db.entries.filter((_, i) => i % step === 0).slice(0, sampleSize);
  const unreadable: BackupServerProbe['unreadable'] = [];
  for (const { key, value } of sample) {
    try {
      // The detail walks the message table too: a corrupt page there shows up here, not in the scan.
      readBackupIndex(value.toString('utf8'), { detail: true });
    } catch (err) {
      if (!(err instanceof BackupIndexError)) throw err;
      unreadable.push({ userid: key.toString('utf8'), error: err.message });
    }
  }
  return { users: db.entries.length, sampled: sample.length, unreadable, backend: db.backend };
}
