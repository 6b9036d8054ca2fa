export type AttemptOutcome = 'ok' | 'no' | 'unverified' | 'error' | 'interrupted';

export interface LastAttempt {
  startedAt: number;
  outcome: AttemptOutcome;
  error: string | null;
}

/** What the scheduler's own records say about a user; the classifier reads it, the scheduler writes it. */
export interface UserHistory {
  /** When our last verified backup of this user ended: survives `ctl_backups compact` moving ts_end back. */
  lastVerified: number | null;
  lastAttempt: LastAttempt | null;
  /** Failed attempts since the last success (a `Mailbox is locked` does not count). */
  consecutiveFailures: number;
  /** After a timeout or a dropped connection the server may still be working on it, until then. */
  inDoubtUntil: number | null;
}
