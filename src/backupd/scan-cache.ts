import type { BackupIndexSummary } from './backup-summary.js';
import type { BackupFingerprint } from './file-fingerprint.js';

export interface CachedIndex {
  dataFile: string;
  fingerprint: BackupFingerprint;
  summary: BackupIndexSummary;
}

/** Where the scanner keeps what it learnt between cycles (the scheduler's state database, or memory). */
export interface ScanCacheStore {
  load(): Map<string, CachedIndex>;
  save(changed: ReadonlyArray<readonly [string, CachedIndex]>, removed: readonly string[]): void;
}

/** What another process (the scheduler) learnt, used and never written: `report` reads it, the scheduler owns it. */
export class ReadOnlyScanCache implements ScanCacheStore {
  constructor(private readonly store: ScanCacheStore) {}

  load(): Map<string, CachedIndex> {
    return this.store.load();
  }

  save(): void {}
}
