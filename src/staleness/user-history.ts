/** `in-sync`: a due user's backup was found to hold everything its mailboxes had, so no XBACKUP went out. */
export type AttemptOutcome = 'ok' | 'no' | 'unverified' | 'error' | 'interrupted' | 'in-sync';

export interface LastAttempt {
  startedAt: number;
  outcome: AttemptOutcome;
  error: string | null;
}

/** The last deep verification of a user's backup: `ctl_backups verify`, run by the maintenance lane. */
export interface DeepVerify {
  /** When it ended (ms). */
  at: number;
  /** null: Cyrus found the backup whole. Otherwise what it found wrong, in its own words where it said any. */
  damage: string | null;
  /** The backup as it was verified; null when not known. A verdict on another data file is not this backup's. */
  subject: BackupSubject | null;
}

/** Which backup, and how far along, a maintenance run saw. */
export interface BackupSubject {
  dataFile: string;
  chunks: number;
  dataBytes: number;
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
  /**
   * The newest chunk id in the index before the last attempt began (0: none), when that attempt is in
   * doubt: a chunk past it means the server finished that attempt.
   */
  inDoubtChunkBefore: number | null;
  /**
   * Chunks up to this id were left by failed attempts (backupd committed part of a user and the attempt
   * failed): they hold part of the mail and count as no backup. Null when no failed attempt left one.
   */
  untrustedThrough: number | null;
  /** The user's backup time before the failed attempts that left those chunks; null when it had none. */
  trustedBackupAt: number | null;
  /** When the scheduler last found the user's backup to hold everything its mailboxes had (ms), or null. */
  lastInSync: number | null;
  /** Null until the maintenance lane verified the backup. */
  deepVerify: DeepVerify | null;
}
