import { dirname } from 'node:path';
import type { StateDb } from './open-state-db.js';
import { StateDbError } from './state-db-error.js';

const AFTERWARDS =
  'No XBACKUP is sent that could not be recorded, so the scheduler stops; the history recorded so far is kept, and an attempt left open is closed as interrupted at the next start.';

/**
 * A write to the state database failed (disk full, I/O error, read-only): history can no longer be
 * kept, and an XBACKUP sent without its record would leave its users in doubt, so the work stops here.
 */
export class StateWriteError extends StateDbError {
  override readonly name: string = 'StateWriteError';
  constructor(
    file: string,
    /** SQLite's extended code (SQLITE_FULL, SQLITE_IOERR_WRITE, ...) or the system's (ENOSPC). */
    readonly code: string,
    detail: string,
  ) {
    super(file, detail);
  }
}

/** The StateWriteError for a write the filesystem refused (full, I/O error, read-only); null for anything else. */
export function stateWriteError(file: string, err: unknown): StateWriteError | null {
  if (err instanceof StateWriteError) return err;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code !== 'string') return null;
  const where = dirname(file);
  const what = `${code}: ${String(message)}`;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') {
    return new StateWriteError(file, code, `cannot record history: the disk is full, no space left on the filesystem holding ${where} (${what}). Free space there, or point state: at a disk with room, and start the scheduler again. ${AFTERWARDS}`);
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'EFBIG' || code === 'EIO') {
    return new StateWriteError(file, code, `cannot record history: a write failed (${what}); the disk holding ${where} may be full, over quota, past a file size limit (ulimit -f) or failing (see the kernel log). Fix that and start the scheduler again. ${AFTERWARDS}`);
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'EACCES' || code === 'EROFS') {
    return new StateWriteError(file, code, `cannot record history: the file is not writable (${what}); check the owner and mode of ${file}, its -wal and -shm files and ${where}, and that the filesystem is mounted read-write. ${AFTERWARDS}`);
  }
  return null;
}

/** Runs one write (a statement or a transaction); any failure of SQLite's comes out as a StateWriteError. */
export function stateWrite<T>(db: StateDb, write: () => T): T {
  try {
    return write();
  } catch (err) {
    const refused = stateWriteError(db.name, err);
    if (refused) throw refused;
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && code.startsWith('SQLITE_')) throw new StateWriteError(db.name, code, `cannot record history (${code}: ${String(message)}). ${AFTERWARDS}`);
    throw err;
  }
}

/**
 * Runs one read; a failure of SQLite's (a damaged file, most likely) comes out as a StateDbError that
 * names the file and says what to do, never SQLite's words alone.
 */
export function stateRead<T>(db: StateDb, read: () => T): T {
  try {
    return read();
  } catch (err) {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) throw err;
    const damaged = code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
    throw new StateDbError(
      db.name,
      damaged
        ? `is damaged (${code}: ${String(message)}): it is only the scheduler's own record (history, backoff, what it last read), no backup is in it; stop the scheduler, move the file aside with its -wal and -shm (\`sqlite3 <file> .recover\` may save the history) and start again`
        : `cannot be read (${code}: ${String(message)})`,
    );
  }
}
