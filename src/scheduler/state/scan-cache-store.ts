import type { CachedIndex, ScanCacheStore } from '../../backupd/scan-cache.js';
import type { StateDb } from './open-state-db.js';
import { stateRead, stateWrite } from './state-write-error.js';

const COLUMNS = 'userid, data_file, ino, size, mtime_ms, data_ino, data_size, data_mtime_ms, last_backup, newest_chunk_id, chunks, data_bytes, mailboxes';

/**
 * The columns in that order (the index's fingerprint, then the data file's). Read as arrays, one at a time:
 * a 100,000-row load takes half the time of objects and never holds every row at once.
 */
type Row = [string, string, number, number, number, number, number, number, number | null, number | null, number, number, string];

/** The scanner's cache in the state database, so a restarted scheduler does not reopen 100,000 indexes. */
export class SqliteScanCache implements ScanCacheStore {
  private readonly upsert;
  private readonly remove;

  constructor(private readonly db: StateDb) {
    this.upsert = db.prepare(
      `INSERT INTO scan_cache (${COLUMNS})
       VALUES (@userid, @data_file, @ino, @size, @mtime_ms, @data_ino, @data_size, @data_mtime_ms, @last_backup, @newest_chunk_id, @chunks, @data_bytes, @mailboxes)
       ON CONFLICT (userid) DO UPDATE SET data_file = excluded.data_file, ino = excluded.ino, size = excluded.size,
         mtime_ms = excluded.mtime_ms, data_ino = excluded.data_ino, data_size = excluded.data_size, data_mtime_ms = excluded.data_mtime_ms,
         last_backup = excluded.last_backup, newest_chunk_id = excluded.newest_chunk_id, chunks = excluded.chunks, data_bytes = excluded.data_bytes,
         mailboxes = excluded.mailboxes`,
    );
    this.remove = db.prepare('DELETE FROM scan_cache WHERE userid = ?');
  }

  load(): Map<string, CachedIndex> {
    return stateRead(this.db, () => this.loadRows());
  }

  private loadRows(): Map<string, CachedIndex> {
    const rows = this.db.prepare(`SELECT ${COLUMNS} FROM scan_cache`).raw().iterate() as IterableIterator<Row>;
    const cache = new Map<string, CachedIndex>();
    for (const [userid, dataFile, ino, size, mtimeMs, dataIno, dataSize, dataMtimeMs, lastBackup, newestChunkId, chunks, dataBytes, mailboxes] of rows) {
      cache.set(userid, {
        dataFile,
        fingerprint: { index: { ino, size, mtimeMs }, data: { ino: dataIno, size: dataSize, mtimeMs: dataMtimeMs } },
        summary: { lastBackup, newestChunkId, chunks, dataBytes, mailboxes },
      });
    }
    return cache;
  }

  save(changed: ReadonlyArray<readonly [string, CachedIndex]>, removed: readonly string[]): void {
    stateWrite(this.db, this.db.transaction(() => {
      for (const [userid, { dataFile, fingerprint, summary }] of changed) {
        this.upsert.run({
          userid,
          data_file: dataFile,
          ino: fingerprint.index.ino,
          size: fingerprint.index.size,
          mtime_ms: fingerprint.index.mtimeMs,
          data_ino: fingerprint.data.ino,
          data_size: fingerprint.data.size,
          data_mtime_ms: fingerprint.data.mtimeMs,
          last_backup: summary.lastBackup,
          newest_chunk_id: summary.newestChunkId,
          chunks: summary.chunks,
          data_bytes: summary.dataBytes,
          mailboxes: summary.mailboxes,
        });
      }
      for (const userid of removed) this.remove.run(userid);
    }));
  }
}
