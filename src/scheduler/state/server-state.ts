import { retryDelay } from '../plan/retry-delay.js';
import type { StateDb } from './open-state-db.js';
import { stateWrite } from './state-write-error.js';

export interface ServerHealth {
  pausedUntil: number | null;
  consecutiveFailures: number;
  droppedInARow: number;
  lastError: string | null;
}

/**
 * The circuit breaker per IMAP server: a server whose connection or channel is down is paused as a
 * whole and probed again with backoff, instead of every one of its users failing in turn.
 */
export class ServerStates {
  constructor(private readonly db: StateDb) {}

  all(): Map<string, ServerHealth> {
    const rows = this.db.prepare('SELECT * FROM server_state').all() as Array<{
      server: string;
      paused_until: number | null;
      consecutive_failures: number;
      dropped_in_a_row: number;
      last_error: string | null;
    }>;
    return new Map(
      rows.map((r) => [r.server, { pausedUntil: r.paused_until, consecutiveFailures: r.consecutive_failures, droppedInARow: r.dropped_in_a_row, lastError: r.last_error }]),
    );
  }

  /** Pauses the server; returns the health it now has (the time it will be probed again). */
  trip(server: string, error: string, dropped: boolean, policy: { baseDelay: number; maxDelay: number }, now: number, random: () => number = Math.random): ServerHealth {
    const before = this.all().get(server);
    const failures = (before?.consecutiveFailures ?? 0) + 1;
    const health: ServerHealth = {
      pausedUntil: now + retryDelay(failures, policy.baseDelay, policy.maxDelay, random),
      consecutiveFailures: failures,
      droppedInARow: dropped ? (before?.droppedInARow ?? 0) + 1 : 0,
      lastError: error,
    };
    this.write(server, health);
    return health;
  }

  /** A command reached the server and backupd: the breaker closes. */
  reset(server: string): void {
    this.write(server, { pausedUntil: null, consecutiveFailures: 0, droppedInARow: 0, lastError: null });
  }

  private write(server: string, h: ServerHealth): void {
    stateWrite(this.db, () => this.db
      .prepare(
        `INSERT INTO server_state (server, paused_until, consecutive_failures, dropped_in_a_row, last_error) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (server) DO UPDATE SET paused_until = excluded.paused_until, consecutive_failures = excluded.consecutive_failures,
           dropped_in_a_row = excluded.dropped_in_a_row, last_error = excluded.last_error`,
      )
      .run(server, h.pausedUntil, h.consecutiveFailures, h.droppedInARow, h.lastError));
  }
}
