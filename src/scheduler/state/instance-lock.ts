import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { InstanceLockedError } from './instance-locked-error.js';
import { openStateDb, type StateDb } from './open-state-db.js';
import { StateDbError } from './state-db-error.js';
import { stateWrite } from './state-write-error.js';

/** The lock file beside a state database. */
export const lockFileOf = (stateFile: string): string => `${stateFile}.lock`;

type Holder = { pid: number; hostname: string; command: string; started_at: number };

/**
 * One `run` or `bootstrap` per state database. The lock is the kernel's: SQLite's exclusive lock on a
 * file of its own beside the database (`<state>.lock`), held open for the process's life, so it ends
 * when its holder dies however it dies, and a pid that now belongs to another process means nothing.
 * The holder's pid, host and command are written to the state database only to name it to a second
 * start. Deleting the state database or the lock file under a running holder would let a second one
 * start beside it: stillHeld() notices, and the holder stops.
 */
export class InstanceLock {
  private constructor(
    private readonly lockDb: Database.Database,
    private readonly stateFile: string,
    /** Inode of the lock file and of the state database when the lock was taken. */
    private readonly identity: { lock: number; state: number },
  ) {}

  static acquire(stateFile: string, command: string, now: number): InstanceLock {
    const state = openStateDb(stateFile);
    const lockFile = lockFileOf(stateFile);
    let lockDb: Database.Database | undefined;
    try {
      lockDb = new Database(lockFile, { timeout: 0 });
      // Exclusive locking mode keeps the lock after the first write, until the connection closes.
      lockDb.pragma('locking_mode = EXCLUSIVE');
      try {
        lockDb.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (id INTEGER PRIMARY KEY); COMMIT');
      } catch (err) {
        if (!/SQLITE_BUSY/.test((err as { code?: string }).code ?? '')) throw err;
        throw lockedBy(holderOf(state), stateFile);
      }
      const identity = { lock: statSync(lockFile).ino, state: statSync(stateFile).ino };
      stateWrite(state, () =>
        state.prepare('INSERT OR REPLACE INTO instance_lock (id, pid, hostname, command, started_at) VALUES (1, ?, ?, ?, ?)').run(process.pid, hostname(), command, now),
      );
      return new InstanceLock(lockDb, stateFile, identity);
    } catch (err) {
      lockDb?.close();
      if (err instanceof InstanceLockedError || err instanceof StateDbError) throw err;
      throw new StateDbError(lockFile, `cannot take the lock: ${(err as Error).message}`);
    } finally {
      state.close();
    }
  }

  /**
   * Throws StateDbError (exit 4) when the state database or the lock file is no longer the one this
   * process opened: deleted or replaced, a second scheduler could take the lock and work beside it.
   */
  stillHeld(): void {
    for (const [file, ino] of [[lockFileOf(this.stateFile), this.identity.lock], [this.stateFile, this.identity.state]] as const) {
      const now = statSync(file, { throwIfNoEntry: false });
      if (now?.ino !== ino) {
        throw new StateDbError(file, `${now ? 'was replaced' : 'was deleted'} while this scheduler ran: another one could start beside it, so this one stops; start it again to go on (its history is in the database as it is now)`);
      }
    }
  }

  /** Never throws; closing the connection is what lets the kernel release the lock (so does dying). */
  release(): void {
    try {
      if (this.lockDb.open) this.lockDb.close();
    } catch {
      // The process is stopping; the lock ends with it.
    }
  }

  /** Whether some process holds the lock of `stateFile` now, asked read-only (for `history`). */
  static isHeld(stateFile: string): boolean {
    let probe: Database.Database | undefined;
    try {
      probe = new Database(lockFileOf(stateFile), { readonly: true, fileMustExist: true, timeout: 0 });
      probe.prepare('SELECT count(*) FROM sqlite_master').get();
      return false;
    } catch (err) {
      return /SQLITE_BUSY/.test((err as { code?: string }).code ?? '');
    } finally {
      probe?.close();
    }
  }
}

function holderOf(state: StateDb): Holder | undefined {
  return state.prepare('SELECT pid, hostname, command, started_at FROM instance_lock WHERE id = 1').get() as Holder | undefined;
}

function lockedBy(holder: Holder | undefined, stateFile: string): InstanceLockedError {
  const who = holder ? `${holder.command} (pid ${holder.pid}${holder.hostname === hostname() ? '' : ` on ${holder.hostname}`}, since ${new Date(holder.started_at).toISOString()})` : 'run';
  return new InstanceLockedError(`another xbackup-scheduler ${who} uses the state database ${stateFile}; stop it first, or give this one another state: path`);
}
