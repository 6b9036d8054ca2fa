// The only code that opens a backup index (test/architecture/index-opener.test.ts holds src/ to it).
// Closing any descriptor of a file drops every POSIX lock the process holds on that file, SQLite's read
// lock included: so an index is opened here alone, and on each thread a descriptor is closed before
// SQLite opens the file, and SQLite's connection before the next descriptor is opened.
import Database from 'better-sqlite3';
import { closeSync, constants, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { BackupIndexError } from './index-error.js';

export const indexFileOf = (dataFile: string): string => `${dataFile}.index`;

/** The index opened read-only for `read` alone, closed once it returns or throws. */
export function withIndexDescriptor<T>(file: string, read: (fd: number) => T): T {
  const fd = openSync(file, 'r');
  try {
    return read(fd);
  } finally {
    closeSync(fd);
  }
}

/** SQLite's header bytes 18 and 19: 2 for a database in WAL mode. */
const WAL_VERSION = 2;

/**
 * Cyrus keeps its indexes in rollback-journal mode; a file in WAL mode (someone's sqlite3) would make SQLite
 * create and write `-wal` and `-shm` files in Cyrus's directory even read-only. Such a file is read from a
 * copy in memory instead, which is exact while no `-wal` file holds changes the file itself lacks, and
 * refused when one does; null for every other file, which SQLite opens itself.
 */
function walModeCopy(file: string): Buffer | null {
  const header = Buffer.alloc(20);
  let walMode: boolean;
  try {
    walMode = withIndexDescriptor(file, (fd) => readSync(fd, header, 0, header.length, 0) === header.length && header[18] === WAL_VERSION && header[19] === WAL_VERSION);
  } catch {
    // SQLite, opening it next, says what is wrong with it.
    return null;
  }
  if (!walMode) return null;
  if ((statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 0) {
    throw new BackupIndexError(file, 'locked', 'is in WAL mode, which Cyrus never uses, with changes in its -wal file: reading it would write beside it; as the cyrus user, `sqlite3 <index> "PRAGMA journal_mode=DELETE"` puts it back');
  }
  const copy = readFileSync(file);
  // The copy in rollback-journal mode, as Cyrus writes it: SQLite reads a copy in memory only so.
  copy[18] = 1;
  copy[19] = 1;
  return copy;
}

export interface OpenIndex {
  db: Database.Database;
  close(): void;
}

/** SQLite takes the same options for every index: read-only, never created, a short wait for a writer. */
const INDEX_OPTIONS = { readonly: true, fileMustExist: true, timeout: 250 } as const;

/**
 * The index, opened by SQLite read-only. better-sqlite3 first asks fs.existsSync() whether the index's folder
 * exists, which asks access(2), which judges by the real uid without capabilities: a scheduler that reads
 * backupd's 0700 folders through CAP_DAC_READ_SEARCH (README "Permissions") would be told that none of
 * them exists. Then the folder is opened here (open(2) honours the capability) and SQLite is given the
 * index through it, /proc/self/fd/<folder>/<name>: the same file, with its journal beside it.
 */
export function openIndexDatabase(file: string): OpenIndex {
  const inMemory = walModeCopy(file);
  if (inMemory) {
    const db = new Database(inMemory, { readonly: true });
    return { db, close: () => db.close() };
  }
  const folder = dirname(file);
  if (existsSync(folder)) {
    const db = new Database(file, INDEX_OPTIONS);
    return { db, close: () => db.close() };
  }
  const folderFd = openSync(folder, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const db = new Database(`/proc/self/fd/${folderFd}/${basename(file)}`, INDEX_OPTIONS);
    return {
      db,
      close: () => {
        try {
          db.close();
        } finally {
          closeSync(folderFd);
        }
      },
    };
  } catch (err) {
    closeSync(folderFd);
    throw err;
  }
}
