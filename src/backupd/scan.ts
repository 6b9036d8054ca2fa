import { statSync } from 'node:fs';
import type { BackupServerPaths } from '../config/backup-server.js';
import { useridFromCyrus } from './cyrus-userid.js';
import { CyrusDbError } from './cyrusdb/errors.js';
import { readCyrusDb } from './cyrusdb/snapshot.js';
import type { CyrusDbEntry } from './cyrusdb/types.js';
import { BackupIndexError } from './index-error.js';
import { indexFileOf, type BackupIndexSummary } from './index-reader.js';
import { readIndexes } from './parallel-index-scan.js';
import type { CachedIndex, IndexFingerprint, ScanCacheStore } from './scan-cache.js';
import { UnchangedIndexCheck } from './unchanged-index-check.js';

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

/** backups.db decoded, with the fingerprint it had when it was read. */
interface BackupsListing {
  /** Undefined when backups.db could not be stat'ed: such a listing is never reused. */
  fingerprint: IndexFingerprint | undefined;
  readAt: number;
  entries: Array<{ userid: string; dataFile: string }>;
  /** The entries' index files, one array for the listing's life: the stat workers keep it between scans. */
  indexFiles: string[];
  userids: Set<string>;
}

/**
 * A file whose mtime is this close to the moment it was read may be written again within the same
 * timestamp (coarse on some filesystems), unseen by its fingerprint: such a listing is read again next time.
 */
const SAME_TIMESTAMP_MS = 2000;

/**
 * Scans backups.db and every index. Kept alive by the scheduler so that neither backups.db nor an index
 * whose (inode, size, mtime) did not move since the last scan is read again; a one-shot `report` uses a fresh one.
 */
export class BackupServerScanner {
  private cache: Map<string, CachedIndex> | undefined;
  private listing: BackupsListing | undefined;
  private readonly unchangedCheck = new UnchangedIndexCheck();
  lastStats: ScanStats = { users: 0, indexesRead: 0, indexesReused: 0, unreadable: 0 };

  constructor(
    private readonly paths: Pick<BackupServerPaths, 'backupsDb' | 'backupsDbFormat'>,
    private readonly store?: ScanCacheStore,
    private readonly clock: () => number = Date.now,
  ) {}

  async scan(): Promise<BackupdView> {
    const { listing, fresh } = await this.listBackups();
    if (listing === null) {
      this.lastStats = { users: 0, indexesRead: 0, indexesReused: 0, unreadable: 0 };
      return { backupsDb: this.paths.backupsDb, backupsDbExists: false, readAt: this.clock(), entries: [] };
    }
    const cache = (this.cache ??= this.store?.load() ?? new Map());
    const stats: ScanStats = { users: listing.entries.length, indexesRead: 0, indexesReused: 0, unreadable: 0 };
    const entries = new Array<BackupdEntry>(listing.entries.length);
    const cached = listing.entries.map(({ userid, dataFile }) => {
      const c = cache.get(userid);
      return c?.dataFile === dataFile ? c : undefined;
    });
    // One stat per user whose index was read before; the rest wait for readIndexes() below.
    const unchanged = await this.unchangedCheck.check(listing.indexFiles, cached.map((c) => c?.fingerprint));
    const unseen: number[] = [];
    listing.entries.forEach(({ userid, dataFile }, i) => {
      if (unchanged[i]) {
        stats.indexesReused++;
        entries[i] = { userid, dataFile, index: cached[i]!.summary, error: null };
      } else {
        unseen.push(i);
      }
    });

    const changed: Array<readonly [string, CachedIndex]> = [];
    const reads = await readIndexes(unseen.map((i) => listing.entries[i]!.dataFile));
    unseen.forEach((entryIndex, readIndex) => {
      const { userid, dataFile } = listing.entries[entryIndex]!;
      const { fingerprint, summary, error } = reads[readIndex]!;
      stats.indexesRead++;
      if (error) stats.unreadable++;
      else if (fingerprint) {
        const entry = { dataFile, fingerprint, summary };
        cache.set(userid, entry);
        changed.push([userid, entry]);
      }
      entries[entryIndex] = { userid, dataFile, index: summary, error };
    });

    // An unchanged listing names the same users as when the cache was last pruned.
    const removed = fresh ? [...cache.keys()].filter((userid) => !listing.userids.has(userid)) : [];
    for (const userid of removed) cache.delete(userid);
    if (changed.length > 0 || removed.length > 0) this.store?.save(changed, removed);
    this.lastStats = stats;
    return { backupsDb: this.paths.backupsDb, backupsDbExists: true, readAt: this.clock(), entries };
  }

  /** Stops the threads that share a large server's stats (a later scan starts them again). */
  async close(): Promise<void> {
    await this.unchangedCheck.close();
  }

  /** The last listing while backups.db keeps its fingerprint; null when backups.db does not exist yet. */
  private async listBackups(): Promise<{ listing: BackupsListing | null; fresh: boolean }> {
    let fingerprint: IndexFingerprint | undefined;
    try {
      const st = statSync(this.paths.backupsDb);
      fingerprint = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.listing = undefined;
        return { listing: null, fresh: true };
      }
      // Anything else (a permission problem) is for the read to report.
    }
    const last = this.listing;
    if (last?.fingerprint && sameFingerprint(last.fingerprint, fingerprint) && last.fingerprint.mtimeMs < last.readAt - SAME_TIMESTAMP_MS) {
      return { listing: last, fresh: false };
    }
    // The wall clock, not this.clock: it is compared with the file's mtime.
    const readAt = Date.now();
    const entries = (await this.readBackupsDb()).map(({ key, value }) => ({
      userid: useridFromCyrus(key.toString('utf8')),
      dataFile: value.toString('utf8'),
    }));
    const indexFiles = entries.map((e) => indexFileOf(e.dataFile));
    this.listing = { fingerprint, readAt, entries, indexFiles, userids: new Set(entries.map((e) => e.userid)) };
    return { listing: this.listing, fresh: true };
  }

  /** An empty file is a database Cyrus has just created. */
  private async readBackupsDb(): Promise<CyrusDbEntry[]> {
    try {
      return (await readCyrusDb(this.paths.backupsDb, { backend: this.paths.backupsDbFormat })).entries;
    } catch (err) {
      if (err instanceof CyrusDbError && err.code === 'EMPTY_FILE') return [];
      throw err;
    }
  }
}

function sameFingerprint(a: IndexFingerprint, b: IndexFingerprint | undefined): boolean {
  return b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}
