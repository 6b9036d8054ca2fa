import { hostname } from 'node:os';
import { InstanceLockedError } from './instance-locked-error.js';
import { openStateDb, type StateDb } from './open-state-db.js';
import { stateWrite } from './state-write-error.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One `run` or `bootstrap` per state database: a row naming the holder's pid and host. A holder that
 * died (SIGKILL, crash) leaves its row behind; a process that is gone on this host no longer counts.
 * The lock keeps its own connection, so it outlives the parts a config reload replaces.
 */
export class InstanceLock {
  private held = false;

  private constructor(
    private readonly db: StateDb,
    private readonly file: string,
  ) {}

  static acquire(file: string, command: string, now: number): InstanceLock {
    const lock = new InstanceLock(openStateDb(file), file);
    try {
      lock.take(command, now);
    } catch (err) {
      lock.db.close();
      throw err;
    }
    return lock;
  }

  private take(command: string, now: number): void {
    const me = hostname();
    stateWrite(this.db, () => this.db.transaction(() => {
      const row = this.db.prepare('SELECT pid, hostname, command, started_at FROM instance_lock WHERE id = 1').get() as
        | { pid: number; hostname: string; command: string; started_at: number }
        | undefined;
      if (row && row.pid !== process.pid && (row.hostname !== me || alive(row.pid))) {
        const where = row.hostname === me ? `pid ${row.pid}` : `pid ${row.pid} on ${row.hostname}`;
        throw new InstanceLockedError(
          `another xbackup-scheduler ${row.command} (${where}, since ${new Date(row.started_at).toISOString()}) uses the state database ${this.file}; stop it first, or give this one another state: path`,
        );
      }
      this.db
        .prepare('INSERT OR REPLACE INTO instance_lock (id, pid, hostname, command, started_at) VALUES (1, ?, ?, ?, ?)')
        .run(process.pid, me, command, now);
    }).immediate());
    this.held = true;
  }

  /** Never throws: a row it cannot delete (disk full) names a pid that is gone, which the next start takes over. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      this.db.prepare('DELETE FROM instance_lock WHERE id = 1 AND pid = ?').run(process.pid);
    } catch {
      // Left for the next start, as after a crash; the error that made the scheduler stop is the one to report.
    } finally {
      this.db.close();
    }
  }
}
