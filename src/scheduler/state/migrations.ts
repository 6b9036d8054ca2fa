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
  // Every XBACKUP attempt, written when it starts (outcome NULL) and again when it ends: a crash
  // leaves a row with no end, closed as `interrupted` at the next start.
  `CREATE TABLE attempt (
     id          INTEGER PRIMARY KEY,
     userid      TEXT NOT NULL,
     server      TEXT NOT NULL,
     kind        TEXT NOT NULL CHECK (kind IN ('refresh', 'first', 'forced', 'canary')),
     grp         INTEGER,
     pattern     TEXT NOT NULL,
     started_at  INTEGER NOT NULL,
     ended_at    INTEGER,
     outcome     TEXT CHECK (outcome IN ('ok', 'no', 'unverified', 'error', 'interrupted')),
     error       TEXT,
     locked      INTEGER NOT NULL DEFAULT 0,
     in_doubt    INTEGER NOT NULL DEFAULT 0
   ) STRICT;
   CREATE INDEX attempt_by_user ON attempt (userid, started_at);
   CREATE INDEX attempt_by_start ON attempt (started_at);
   CREATE INDEX attempt_open ON attempt (id) WHERE ended_at IS NULL;
   -- What the scheduler remembers per user between attempts.
   CREATE TABLE user_memory (
     userid               TEXT PRIMARY KEY,
     last_verified        INTEGER,
     consecutive_failures INTEGER NOT NULL DEFAULT 0,
     next_attempt_at      INTEGER,
     in_doubt_until       INTEGER,
     last_attempt_id      INTEGER REFERENCES attempt (id)
   ) STRICT;
   -- The circuit breaker of each IMAP server.
   CREATE TABLE server_state (
     server               TEXT PRIMARY KEY,
     paused_until         INTEGER,
     consecutive_failures INTEGER NOT NULL DEFAULT 0,
     dropped_in_a_row     INTEGER NOT NULL DEFAULT 0,
     last_error           TEXT
   ) STRICT;
   -- First-backup groups, numbered; the last one's end times the pause before the next.
   CREATE TABLE bootstrap_group (
     id         INTEGER PRIMARY KEY,
     started_at INTEGER NOT NULL,
     ended_at   INTEGER
   ) STRICT;
   -- One scheduler (run or bootstrap) per state database.
   CREATE TABLE instance_lock (
     id         INTEGER PRIMARY KEY CHECK (id = 1),
     pid        INTEGER NOT NULL,
     hostname   TEXT NOT NULL,
     command    TEXT NOT NULL,
     started_at INTEGER NOT NULL
   ) STRICT`,
  // The scan no longer counts messages and mailboxes: walking those tables in every index made it slow.
  `ALTER TABLE scan_cache DROP COLUMN messages;
   ALTER TABLE scan_cache DROP COLUMN mailboxes`,
  // A user's last backup is its newest chunk by id, no longer max(ts_end): what was cached is read again.
  `DELETE FROM scan_cache;
   ALTER TABLE scan_cache ADD COLUMN newest_chunk_id INTEGER`,
  // A backup is judged by chunk ids, not times: each attempt keeps the user's newest chunk id before the
  // command (0: none) and after it; each user, the chunk id an attempt in doubt is settled past, and the
  // chunks failed attempts left (part of the mail at most).
  `ALTER TABLE attempt ADD COLUMN chunk_before INTEGER;
   ALTER TABLE attempt ADD COLUMN chunk_after INTEGER;
   ALTER TABLE user_memory ADD COLUMN in_doubt_chunk_before INTEGER;
   ALTER TABLE user_memory ADD COLUMN untrusted_through INTEGER;
   ALTER TABLE user_memory ADD COLUMN trusted_backup_at INTEGER`,
  // A backup is its data file too: a summary is reused only while the data file's fingerprint holds as
  // well, which no cached row has, so they are all read again.
  `DROP TABLE scan_cache;
   CREATE TABLE scan_cache (
     userid          TEXT PRIMARY KEY,
     data_file       TEXT NOT NULL,
     ino             INTEGER NOT NULL,
     size            INTEGER NOT NULL,
     mtime_ms        REAL NOT NULL,
     data_ino        INTEGER NOT NULL,
     data_size       INTEGER NOT NULL,
     data_mtime_ms   REAL NOT NULL,
     last_backup     INTEGER,
     newest_chunk_id INTEGER,
     chunks          INTEGER NOT NULL,
     data_bytes      INTEGER NOT NULL
   ) STRICT`,
  // A summary holds the backup's live mailboxes too (encodeBackedUpMailboxes's text), which no cached row
  // has: the rows are deleted (so every index is read once again after the upgrade), and the column is
  // then added to an empty table, which lets it be NOT NULL without a default.
  `DELETE FROM scan_cache;
   ALTER TABLE scan_cache ADD COLUMN mailboxes TEXT NOT NULL`,
  // A due user found in sync with its mailboxes gets no XBACKUP: that check is recorded as an attempt with an
  // outcome of its own, `in-sync` (so the table is made again with the wider CHECK, keeping every row and the
  // users' links to their last attempts), and each user keeps when its backup was last found in sync.
  `CREATE TEMP TABLE last_attempt_kept AS SELECT userid, last_attempt_id FROM user_memory;
   UPDATE user_memory SET last_attempt_id = NULL;
   CREATE TABLE attempt_next (
     id           INTEGER PRIMARY KEY,
     userid       TEXT NOT NULL,
     server       TEXT NOT NULL,
     kind         TEXT NOT NULL CHECK (kind IN ('refresh', 'first', 'forced', 'canary')),
     grp          INTEGER,
     pattern      TEXT NOT NULL,
     started_at   INTEGER NOT NULL,
     ended_at     INTEGER,
     outcome      TEXT CHECK (outcome IN ('ok', 'no', 'unverified', 'error', 'interrupted', 'in-sync')),
     error        TEXT,
     locked       INTEGER NOT NULL DEFAULT 0,
     in_doubt     INTEGER NOT NULL DEFAULT 0,
     chunk_before INTEGER,
     chunk_after  INTEGER
   ) STRICT;
   INSERT INTO attempt_next SELECT id, userid, server, kind, grp, pattern, started_at, ended_at, outcome, error, locked, in_doubt, chunk_before, chunk_after FROM attempt;
   DROP TABLE attempt;
   ALTER TABLE attempt_next RENAME TO attempt;
   CREATE INDEX attempt_by_user ON attempt (userid, started_at);
   CREATE INDEX attempt_by_start ON attempt (started_at);
   CREATE INDEX attempt_open ON attempt (id) WHERE ended_at IS NULL;
   UPDATE user_memory SET last_attempt_id = (SELECT k.last_attempt_id FROM temp.last_attempt_kept k WHERE k.userid = user_memory.userid);
   DROP TABLE temp.last_attempt_kept;
   ALTER TABLE user_memory ADD COLUMN last_in_sync INTEGER`,
  // What alerts depend on across restarts: the cycles by result and when the last of each ended (the last
  // success above all, which a restart into a failing state must not forget); and what paused each IMAP
  // server, so that an answer to discovery closes a breaker that a failed discovery opened, and only that.
  `CREATE TABLE cycle_result (
     result  TEXT PRIMARY KEY CHECK (result IN ('success', 'failure', 'error')),
     cycles  INTEGER NOT NULL,
     last_at INTEGER NOT NULL
   ) STRICT;
   ALTER TABLE server_state ADD COLUMN tripped_by TEXT CHECK (tripped_by IN ('discovery', 'xbackup'))`,
  // Releases before chunk ids judged backups stored 0 as a user's last verified backup when it had none
  // (shown as 1970-01-01): none is NULL. No real backup is dated 0.
  `UPDATE user_memory SET last_verified = NULL WHERE last_verified = 0`,
  // Each first-backup group's known bytes, which bootstrap.maxBytesPerWindow counts per window opening (a
  // restart inside a window goes on with what it used). Older groups counted nothing: NULL, read as 0.
  `ALTER TABLE bootstrap_group ADD COLUMN bytes INTEGER`,
  // The maintenance lane: each ctl_backups run on a user's backup (written when it starts, again when it
  // ends: a crash leaves one with no end, closed as interrupted at the next start) with the chunks its backup had when it began; per user, the last
  // deep verification's verdict and the backup's utilisation as `ctl_backups stat` last gave it.
  `CREATE TABLE maintenance_run (
     id         INTEGER PRIMARY KEY,
     userid     TEXT NOT NULL,
     verb       TEXT NOT NULL CHECK (verb IN ('verify', 'compact', 'stat')),
     why        TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     ended_at   INTEGER,
     chunks     INTEGER,
     outcome    TEXT,
     detail     TEXT
   ) STRICT;
   CREATE INDEX maintenance_run_by_start ON maintenance_run (started_at);
   CREATE INDEX maintenance_run_open ON maintenance_run (id) WHERE ended_at IS NULL;
   ALTER TABLE user_memory ADD COLUMN deep_verify_at INTEGER;
   ALTER TABLE user_memory ADD COLUMN deep_verify_damage TEXT;
   ALTER TABLE user_memory ADD COLUMN deep_verify_subject TEXT;
   ALTER TABLE user_memory ADD COLUMN utilisation REAL;
   ALTER TABLE user_memory ADD COLUMN utilisation_subject TEXT`,
];
