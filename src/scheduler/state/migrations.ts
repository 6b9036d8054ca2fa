/**
 * The state database's schema, one step per version (PRAGMA user_version). Steps are only ever appended:
 * a database written by an older release is brought forward, never rebuilt.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE scan_cache (
     userid     TEXT PRIMARY KEY,
     data_file  TEXT NOT NULL,
     ino        INTEGER NOT NULL,
     size       INTEGER NOT NULL,
     mtime_ms   REAL NOT NULL,
     last_backup INTEGER,
     chunks     INTEGER NOT NULL,
     messages   INTEGER NOT NULL,
     mailboxes  INTEGER NOT NULL,
     data_bytes INTEGER NOT NULL
   ) STRICT`,
];
