import { HEALTHY, nextServerHealth, type ServerHealth } from '../plan/settle-attempt.js';
import type { StateDb } from './open-state-db.js';
import { stateWrite } from './state-write-error.js';

export type { ServerHealth };

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
      tripped_by: ServerHealth['trippedBy'];
    }>;
    return new Map(
      rows.map((r) => [
        r.server,
        // A breaker opened before its cause was kept counts as an XBACKUP's: only a success closes it.
        { pausedUntil: r.paused_until, consecutiveFailures: r.consecutive_failures, droppedInARow: r.dropped_in_a_row, lastError: r.last_error, trippedBy: r.consecutive_failures > 0 ? (r.tripped_by ?? 'xbackup') : null },
      ]),
    );
  }

  /** Pauses the server (the rule: plan/settle-attempt.ts); returns the health it now has (when it will be probed again). */
  trip(
    server: string,
    error: string,
    dropped: boolean,
    trippedBy: 'discovery' | 'xbackup',
    policy: { baseDelay: number; maxDelay: number },
    now: number,
    random: () => number = Math.random,
  ): ServerHealth {
    const health = nextServerHealth(this.all().get(server), error, dropped, trippedBy, policy, now, random);
    this.write(server, health);
    return health;
  }

  /** A command reached the server and backupd: the breaker closes. */
  reset(server: string): void {
    this.write(server, HEALTHY);
  }

  /** The server answered discovery: a breaker that a failed discovery opened closes; one an XBACKUP opened stays. */
  answered(server: string): void {
    if (this.all().get(server)?.trippedBy === 'discovery') this.write(server, HEALTHY);
  }

  private write(server: string, h: ServerHealth): void {
    stateWrite(this.db, () => this.db
      .prepare(
        `INSERT INTO server_state (server, paused_until, consecutive_failures, dropped_in_a_row, last_error, tripped_by) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (server) DO UPDATE SET paused_until = excluded.paused_until, consecutive_failures = excluded.consecutive_failures,
           dropped_in_a_row = excluded.dropped_in_a_row, last_error = excluded.last_error, tripped_by = excluded.tripped_by`,
      )
      .run(server, h.pausedUntil, h.consecutiveFailures, h.droppedInARow, h.lastError, h.trippedBy));
  }
}
