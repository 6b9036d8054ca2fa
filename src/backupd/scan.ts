import type { BackupIndexSummary } from './backup-summary.js';
import { BackupsDbReader, type BackupdFiles, type BackupsListing } from './backups-listing.js';
import type { BackupIndexError } from './index-error.js';
import type { CachedIndex, ScanCacheStore } from './scan-cache.js';
import { ScanWorkers } from './scan-workers.js';

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
  /** Of those read, how many SQLite had to read: being written, or not the plain index the page reader knows. */
  readBySqlite: number;
  indexesReused: number;
  unreadable: number;
}

/** Stats of a scan of `users` users before any index is looked at. */
const noneYet = (users: number): ScanStats => ({ users, indexesRead: 0, readBySqlite: 0, indexesReused: 0, unreadable: 0 });

/**
 * Scans backups.db and every backup. Kept alive by the scheduler, with a store, so that neither backups.db
 * nor a backup whose index and data file both kept their (inode, size, mtime) since the last scan is read
 * again; without a store (a one-shot `report`) every scan reads every backup and nothing is kept for a next one.
 */
export class BackupServerScanner {
  private cache: Map<string, CachedIndex> | undefined;
  /** The listing the cache was last pruned against. */
  private prunedFor: BackupsListing | undefined;
  private readonly workers: ScanWorkers;
  lastStats: ScanStats = noneYet(0);

  private readonly backupsDb: BackupsDbReader;

  /** Given a BackupsDbReader, shares its listing (the scheduler's checks after each XBACKUP read it too). */
  constructor(
    backupsDb: BackupsDbReader | BackupdFiles,
    private readonly store?: ScanCacheStore,
    private readonly clock: () => number = Date.now,
    options: { scansOnce?: boolean } = {},
  ) {
    this.backupsDb = backupsDb instanceof BackupsDbReader ? backupsDb : new BackupsDbReader(backupsDb);
    this.workers = new ScanWorkers({ scansOnce: options.scansOnce === true });
  }

  async scan(): Promise<BackupdView> {
    const listing = await this.backupsDb.listing();
    const backupsDb = this.backupsDb.paths.backupsDb;
    if (listing === null) {
      this.lastStats = noneYet(0);
      return { backupsDb, backupsDbExists: false, readAt: this.clock(), entries: [] };
    }
    const cache = this.store ? (this.cache ??= this.store.load()) : undefined;
    const stats = noneYet(listing.entries.length);
    const entries = new Array<BackupdEntry>(listing.entries.length);
    const cached = listing.entries.map(({ userid, dataFile }) => {
      const c = cache?.get(userid);
      return c?.dataFile === dataFile ? c : undefined;
    });
    // A stat or two per user whose backup was read before; the rest wait for readIndexes() below.
    const unchanged = await this.workers.unchanged(listing.files, cached.map((c) => c?.fingerprint));
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
    const reads = await this.workers.readIndexes(
      unseen.map((i) => listing.entries[i]!.dataFile),
      this.backupsDb.paths.pageReader ?? true,
    );
    unseen.forEach((entryIndex, readIndex) => {
      const { userid, dataFile } = listing.entries[entryIndex]!;
      const { fingerprint, summary, error, bySqlite } = reads[readIndex]!;
      stats.indexesRead++;
      if (bySqlite) stats.readBySqlite++;
      if (error) stats.unreadable++;
      else if (fingerprint && cache) {
        const entry = { dataFile, fingerprint, summary };
        cache.set(userid, entry);
        changed.push([userid, entry]);
      }
      entries[entryIndex] = { userid, dataFile, index: summary, error };
    });

    // An unchanged listing names the same users as when the cache was last pruned.
    if (cache && this.store) {
      const removed = listing !== this.prunedFor ? [...cache.keys()].filter((userid) => !listing.dataFiles.has(userid)) : [];
      this.prunedFor = listing;
      for (const userid of removed) cache.delete(userid);
      if (changed.length > 0 || removed.length > 0) this.store.save(changed, removed);
    }
    this.lastStats = stats;
    return { backupsDb, backupsDbExists: true, readAt: this.clock(), entries };
  }

  /** Stops the threads that share a large server's stats and reads (a later scan starts them again). */
  async close(): Promise<void> {
    await this.workers.close();
  }
}
