import type { CachedIndex, ScanCacheStore } from '../../src/backupd/scan-cache.js';

/** A scan cache that lives as long as the scanner, for tests and benchmarks (the scheduler keeps its own in the state database). */
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
