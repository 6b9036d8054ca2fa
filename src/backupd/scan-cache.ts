import type { BackupIndexSummary } from './index-reader.js';

/** Identity of an index file on disk: if none of these moved, the index was not rewritten. */
export interface IndexFingerprint {
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface CachedIndex {
  dataFile: string;
  fingerprint: IndexFingerprint;
  summary: BackupIndexSummary;
}

/** Where the scanner keeps what it learnt between cycles (the scheduler's state database, or memory). */
export interface ScanCacheStore {
  load(): Map<string, CachedIndex>;
  save(changed: ReadonlyArray<readonly [string, CachedIndex]>, removed: readonly string[]): void;
}

export class MemoryScanCache implements ScanCacheStore {
  private readonly entries = new Map<string, CachedIndex>();

  load(): Map<string, CachedIndex> {
    return new Map(this.entries);
  }

  save(changed: ReadonlyArray<readonly [string, CachedIndex]>, removed: readonly string[]): void {
    for (const [userid, entry] of changed) this.entries.set(userid, entry);
    for (const userid of removed) this.entries.delete(userid);
  }
}

/** What another process (the scheduler) learnt, used and never written: `report` reads it, the scheduler owns it. */
export class ReadOnlyScanCache implements ScanCacheStore {
  constructor(private readonly store: ScanCacheStore) {}

  load(): Map<string, CachedIndex> {
    return this.store.load();
  }

  save(): void {}
}
