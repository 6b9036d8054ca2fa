import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './migrations.js';
import { StateDbError } from './state-db-error.js';
import { stateWriteError } from './state-write-error.js';

export type StateDb = Database.Database;

/**
 * Opens (creating if needed) the scheduler's state database: mode 0600 (it names every user), WAL so
 * readers such as `report` never block the scheduler, and synchronous=FULL so a crash loses no history.
 */
export function openStateDb(file: string): StateDb {
  try {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      // SQLite gives its -wal and -shm files the main file's mode, so creating it 0600 covers all three.
      closeSync(openSync(file, 'a', 0o600));
    }
    const db = new Database(file, { timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    return db;
  } catch (err) {
    if (err instanceof StateDbError) throw err;
    throw stateWriteError(file, err) ?? new StateDbError(file, (err as Error).message);
  }
}

/** Read-only access for reports: never creates or migrates the file; null when there is no usable history yet. */
export function openStateDbReadOnly(file: string): StateDb | null {
  if (!existsSync(file)) return null;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    // A reader goes through the scan cache once: SQLite's default 16 MB of cached pages would only add to its peak memory.
    db.pragma('cache_size = -2000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      db.close();
      throw new StateDbError(file, `was written by a newer xbackup-scheduler (schema ${version}, this one knows ${MIGRATIONS.length})`);
    }
    if (version < MIGRATIONS.length) {
      // Being created right now, or from an older release that the next `run` brings forward.
      db.close();
      return null;
    }
    return db;
  } catch (err) {
    if (err instanceof StateDbError) throw err;
    throw new StateDbError(file, (err as Error).message);
  }
}

function migrate(db: StateDb, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new StateDbError(file, `was written by a newer xbackup-scheduler (schema ${version}, this one knows ${MIGRATIONS.length}); upgrade this one`);
  }
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}
