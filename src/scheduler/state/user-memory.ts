import type { AttemptOutcome, UserHistory } from '../../staleness/user-history.js';
import { retryDelay } from '../plan/retry-delay.js';
import type { StateDb } from './open-state-db.js';
import { stateWrite } from './state-write-error.js';

export interface RememberedUser extends UserHistory {
  /** Backoff: no new attempt before this time (ms). */
  nextAttemptAt: number | null;
}

/** How one finished attempt changes what we remember of its user. */
export interface AttemptSettlement {
  userid: string;
  attemptId: number;
  outcome: Exclude<AttemptOutcome, 'interrupted'>;
  locked: boolean;
  inDoubt: boolean;
  /** For a verified backup: the end of the chunk it produced (ms). */
  verifiedBackupAt: number | null;
}

export interface RetryPolicy {
  baseDelay: number;
  maxDelay: number;
  inDoubtGrace: number;
}

interface Row {
  userid: string;
  last_verified: number | null;
  consecutive_failures: number;
  next_attempt_at: number | null;
  in_doubt_until: number | null;
  started_at: number | null;
  outcome: AttemptOutcome | null;
  error: string | null;
}

/** Per-user memory between attempts: last verified backup, failures in a row, backoff, doubt. */
export class UserMemory {
  constructor(private readonly db: StateDb) {}

  all(): Map<string, RememberedUser> {
    const rows = this.db
      .prepare(
        `SELECT m.userid, m.last_verified, m.consecutive_failures, m.next_attempt_at, m.in_doubt_until, a.started_at, a.outcome, a.error
           FROM user_memory m LEFT JOIN attempt a ON a.id = m.last_attempt_id`,
      )
      .all() as Row[];
    return new Map(
      rows.map((r) => [
        r.userid,
        {
          lastVerified: r.last_verified,
          consecutiveFailures: r.consecutive_failures,
          nextAttemptAt: r.next_attempt_at,
          inDoubtUntil: r.in_doubt_until,
          lastAttempt: r.started_at === null || r.outcome === null ? null : { startedAt: r.started_at, outcome: r.outcome, error: r.error },
        },
      ]),
    );
  }

  /**
   * A verified backup clears failures, backoff and doubt. `Mailbox is locked` waits one base delay
   * without counting as a failure. Anything else counts, with exponential backoff; a timeout or a
   * dropped connection also leaves the user in doubt for `inDoubtGrace`, since the server goes on.
   */
  settle(settlements: readonly AttemptSettlement[], policy: RetryPolicy, now: number, random: () => number = Math.random): void {
    const current = this.db.prepare('SELECT consecutive_failures AS n FROM user_memory WHERE userid = ?');
    const upsert = this.db.prepare(
      `INSERT INTO user_memory (userid, last_verified, consecutive_failures, next_attempt_at, in_doubt_until, last_attempt_id)
       VALUES (@userid, @lastVerified, @failures, @nextAttemptAt, @inDoubtUntil, @attemptId)
       ON CONFLICT (userid) DO UPDATE SET
         last_verified = max(coalesce(last_verified, 0), coalesce(excluded.last_verified, 0)),
         consecutive_failures = excluded.consecutive_failures,
         next_attempt_at = excluded.next_attempt_at,
         in_doubt_until = excluded.in_doubt_until,
         last_attempt_id = excluded.last_attempt_id`,
    );
    stateWrite(this.db, this.db.transaction(() => {
      for (const s of settlements) {
        const before = (current.get(s.userid) as { n: number } | undefined)?.n ?? 0;
        let failures = before;
        let nextAttemptAt: number | null = null;
        let inDoubtUntil: number | null = null;
        if (s.outcome === 'ok') {
          failures = 0;
        } else if (s.locked) {
          nextAttemptAt = now + policy.baseDelay;
        } else {
          failures = before + 1;
          nextAttemptAt = now + retryDelay(failures, policy.baseDelay, policy.maxDelay, random);
          // Not folded into the backoff: the doubt also ends early, when the index shows the server finished (classify).
          if (s.inDoubt) inDoubtUntil = now + policy.inDoubtGrace;
        }
        upsert.run({
          userid: s.userid,
          lastVerified: s.outcome === 'ok' ? s.verifiedBackupAt : null,
          failures,
          nextAttemptAt,
          inDoubtUntil,
          attemptId: s.attemptId,
        });
      }
    }));
  }

  /** After a crash: users whose attempt was interrupted are in doubt for the grace, from when it began. */
  markInDoubt(users: ReadonlyArray<{ userid: string; attemptId: number; since: number }>, grace: number): void {
    const upsert = this.db.prepare(
      `INSERT INTO user_memory (userid, in_doubt_until, last_attempt_id) VALUES (@userid, @until, @attemptId)
       ON CONFLICT (userid) DO UPDATE SET in_doubt_until = excluded.in_doubt_until, last_attempt_id = excluded.last_attempt_id`,
    );
    stateWrite(this.db, this.db.transaction(() => {
      for (const u of users) upsert.run({ userid: u.userid, until: u.since + grace, attemptId: u.attemptId });
    }));
  }
}
