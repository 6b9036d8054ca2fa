import type { CachedIndex, ScanCacheStore } from '../../backupd/scan-cache.js';
import type { StateDb } from './open-state-db.js';
import { stateWrite } from './state-write-error.js';

interface Row {
  userid: string;
  data_file: string;
  ino: number;
  size: number;
  mtime_ms: number;
  last_backup: number | null;
  chunks: number;
  data_bytes: number;
}

/** The scanner's cache in the state database, so a restarted scheduler does not reopen 100,000 indexes. */
export class SqliteScanCache implements ScanCacheStore {
  private readonly upsert;
  private readonly remove;

  constructor(private readonly db: StateDb) {
    this.upsert = db.prepare(
      `INSERT INTO scan_cache (userid, data_file, ino, size, mtime_ms, last_backup, chunks, data_bytes)
       VALUES (@userid, @data_file, @ino, @size, @mtime_ms, @last_backup, @chunks, @data_bytes)
       ON CONFLICT (userid) DO UPDATE SET data_file = excluded.data_file, ino = excluded.ino, size = excluded.size,
         mtime_ms = excluded.mtime_ms, last_backup = excluded.last_backup, chunks = excluded.chunks, data_bytes = excluded.data_bytes`,
    );
    this.remove = db.prepare('DELETE FROM scan_cache WHERE userid = ?');
  }

  load(): Map<string, CachedIndex> {
    const rows = this.db.prepare('SELECT * FROM scan_cache').all() as Row[];
    return new Map(
      rows.map((r) => [
        r.userid,
        {
          dataFile: r.data_file,
          fingerprint: { ino: r.ino, size: r.size, mtimeMs: r.mtime_ms },
          summary: { lastBackup: r.last_backup, chunks: r.chunks, dataBytes: r.data_bytes },
        },
      ]),
    );
  }

  save(changed: ReadonlyArray<readonly [string, CachedIndex]>, removed: readonly string[]): void {
    stateWrite(this.db, this.db.transaction(() => {
      for (const [userid, { dataFile, fingerprint, summary }] of changed) {
        this.upsert.run({
          userid,
          data_file: dataFile,
          ino: fingerprint.ino,
          size: fingerprint.size,
          mtime_ms: fingerprint.mtimeMs,
          last_backup: summary.lastBackup,
          chunks: summary.chunks,
          data_bytes: summary.dataBytes,
        });
      }
      for (const userid of removed) this.remove.run(userid);
    }));
  }
}
