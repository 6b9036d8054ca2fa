import { statSync } from 'node:fs';
import type { BackupServerPaths } from '../config/backup-server.js';
import { useridFromCyrus } from './cyrus-userid.js';
import { CyrusDbError } from './cyrusdb/errors.js';
import { readCyrusDb } from './cyrusdb/snapshot.js';
import type { CyrusDbEntry } from './cyrusdb/types.js';
import { BackupIndexError } from './index-error.js';
import { indexFileOf, readBackupIndex, type BackupIndexSummary } from './index-reader.js';
import type { CachedIndex, IndexFingerprint, ScanCacheStore } from './scan-cache.js';

/** One backups.db entry and what its index says, or why it could not be read. */
export interface BackupdEntry {
  userid: string;
  dataFile: string;
  index: BackupIndexSummary | null;
  error: BackupIndexError | null;
}

/** The backup server's own view of who is backed up, read from its files alone. */
export interface BackupdView {
  backupsDb: string;
  /** False on a backup server that has not received its first backup: Cyrus creates backups.db then. */
  backupsDbExists: boolean;
  readAt: number;
  entries: BackupdEntry[];
}

export interface ScanStats {
  users: number;
  indexesRead: number;
  indexesReused: number;
  unreadable: number;
}

/**
 * Scans backups.db and every index. Kept alive by the scheduler so that an index whose
 * (inode, size, mtime) did not move since the last scan is not reopened; a one-shot `report` uses a fresh one.
 */
export class BackupServerScanner {
  private cache: Map<string, CachedIndex> | undefined;
  lastStats: ScanStats = { users: 0, indexesRead: 0, indexesReused: 0, unreadable: 0 };

  constructor(
    private readonly paths: Pick<BackupServerPaths, 'backupsDb' | 'backupsDbFormat'>,
    private readonly store?: ScanCacheStore,
    private readonly clock: () => number = Date.now,
  ) {}

  async scan(): Promise<BackupdView> {
    const db = await this.readBackupsDb();
    if (db === null) {
      this.lastStats = { users: 0, indexesRead: 0, indexesReused: 0, unreadable: 0 };
      return { backupsDb: this.paths.backupsDb, backupsDbExists: false, readAt: this.clock(), entries: [] };
    }
    const cache = (this.cache ??= this.store?.load() ?? new Map());
    const changed: Array<readonly [string, CachedIndex]> = [];
    const stats: ScanStats = { users: db.entries.length, indexesRead: 0, indexesReused: 0, unreadable: 0 };
    const seen = new Set<string>();
    const entries = db.entries.map(({ key, value }): BackupdEntry => {
      const userid = useridFromCyrus(key.toString('utf8'));
      const dataFile = value.toString('utf8');
      seen.add(userid);
      const fingerprint = fingerprintOf(indexFileOf(dataFile));
      const cached = cache.get(userid);
      if (fingerprint && cached && cached.dataFile === dataFile && sameFingerprint(cached.fingerprint, fingerprint)) {
        stats.indexesReused++;
        return { userid, dataFile, index: cached.summary, error: null };
      }
      stats.indexesRead++;
      try {
        const summary = readBackupIndex(dataFile);
        if (fingerprint) {
          const entry = { dataFile, fingerprint, summary };
          cache.set(userid, entry);
          changed.push([userid, entry]);
        }
        return { userid, dataFile, index: summary, error: null };
      } catch (err) {
        if (!(err instanceof BackupIndexError)) throw err;
        stats.unreadable++;
        return { userid, dataFile, index: null, error: err };
      }
    });
    const removed = [...cache.keys()].filter((userid) => !seen.has(userid));
    for (const userid of removed) cache.delete(userid);
    if (changed.length > 0 || removed.length > 0) this.store?.save(changed, removed);
    this.lastStats = stats;
    return { backupsDb: this.paths.backupsDb, backupsDbExists: true, readAt: this.clock(), entries };
  }

  /** null when backups.db does not exist yet; an empty file is a database Cyrus has just created. */
  private async readBackupsDb(): Promise<{ entries: CyrusDbEntry[] } | null> {
    try {
      statSync(this.paths.backupsDb);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    }
    try {
      return await readCyrusDb(this.paths.backupsDb, { backend: this.paths.backupsDbFormat });
    } catch (err) {
      if (err instanceof CyrusDbError && err.code === 'EMPTY_FILE') return { entries: [] };
      throw err;
    }
  }
}

/** Undefined when the index cannot even be stat'ed: the read that follows says why. */
function fingerprintOf(file: string): IndexFingerprint | undefined {
  try {
    const st = statSync(file);
    return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

function sameFingerprint(a: IndexFingerprint, b: IndexFingerprint): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}
