import type { DailyWindow } from '../../units/daily-window.js';
import type { Setting } from '../../units/setting.js';
import type { MailboxNaming } from '../../imap/mailbox-names.js';
import type { UserStatus } from '../../staleness/classify.js';

/** What a server looks like to the planner right now. */
export interface PlanServer {
  name: string;
  naming: MailboxNaming;
  maxConcurrent: number;
  /** XBACKUP commands already running on it (from an earlier cycle or the bootstrap group). */
  inFlight: number;
  /** Circuit breaker: no new work before this time (ms); null when the server is healthy. */
  pausedUntil: number | null;
  /** Every userid whose INBOX the server has, responsible for or not: batch patterns must match nothing else. */
  allUserids: readonly string[];
  /** Its shared mailboxes, backed up together as %SHARED (one XBACKUP each). */
  sharedMailboxes: readonly string[];
}

/** The scheduler's own per-user memory, beyond what the classifier already folded into UserStatus. */
export interface PlanUserMemory {
  /** Backoff after failures: not before this time (ms). */
  nextAttemptAt: number | null;
}

export interface BootstrapLimits {
  groupSize: number;
  /** Bytes, and the text configured, which messages say back. */
  maxGroupBytes: Setting;
  order: 'smallest' | 'largest' | 'name';
  /** A first-backup group is already running: no new one starts (concurrentGroups = 1). */
  groupInFlight: boolean;
  /** The pause after the previous group ends: no new group before this time (ms), or null. */
  nextGroupAt: number | null;
  /** The staging path has less free space than bootstrap.minStagingFreeBytes. */
  stagingShort: boolean;
  /** bootstrap.window: first backups start only inside it; null: at any time. */
  window: DailyWindow | null;
  /** bootstrap.maxBytesPerWindow and the bytes of the groups started in the window's current opening; null: no budget. */
  budget: FirstBackupBudget | null;
}

export interface FirstBackupBudget {
  maxBytes: Setting;
  usedBytes: number;
}

export interface PlanInput {
  now: number;
  /** A fresh user this old is backed up ahead of maxAge (plan/refresh-ahead.ts); maxAge itself to wait for stale. */
  refreshFromAge: number;
  users: readonly UserStatus[];
  servers: readonly PlanServer[];
  memory: ReadonlyMap<string, PlanUserMemory>;
  /** Users with an XBACKUP running right now: never the same user twice at once. */
  inFlightUsers: ReadonlySet<string>;
  /** Users whose backup ctl_backups is verifying or compacting right now (the maintenance lane): it holds their lock. */
  maintenanceUsers: ReadonlySet<string>;
  maxPerCycle: number;
  bootstrap: BootstrapLimits;
  /** Whether `missing` users are planned at all (run: yes; a refresh-only cycle: no). */
  includeFirstBackups: boolean;
  /** policy.window: refreshes start only inside it; null: at any time. */
  refreshWindow: DailyWindow | null;
  /** The zone windows are read in (an IANA name); left out, the process's own, as the cron schedule. */
  timeZone?: string;
}

/** One XBACKUP command to send: a batch pattern covering several due users, or one user's exact INBOX. */
export interface PlannedCommand {
  server: string;
  /** The mailbox pattern as it goes on the wire (`user.an*`, `user.anne`). */
  pattern: string;
  /** Exactly the users this command is meant to back up (and the only ones whose lines count). */
  userids: string[];
  /** `forced` is an admin's `backup` command, never planned by the scheduler. */
  kind: 'refresh' | 'first' | 'forced';
  /** For %SHARED: the shared mailboxes, one XBACKUP each (`pattern` is the first); absent for users. */
  mailboxes?: readonly string[];
}

export interface FirstBackupGroup {
  users: Array<{ userid: string; server: string; sizeBytes: number | null }>;
  /** Sum of the known sizes. */
  bytes: number;
}

export type HoldReason =
  | 'backoff'
  | 'in-doubt'
  | 'server-paused'
  | 'in-flight'
  /** ctl_backups is verifying or compacting the user's backup: an XBACKUP now would only be told `Mailbox is locked`. */
  | 'maintenance'
  | 'max-per-cycle'
  | 'bootstrap-group-in-flight'
  | 'bootstrap-pause'
  | 'bootstrap-group-full'
  | 'staging-space'
  | 'not-backed-up-by-us'
  /** Due, but on no server of this cycle (e.g. its server did not answer discovery): no one to ask. */
  | 'server-unknown'
  /** A refresh outside policy.window. */
  | 'policy-window'
  /** A first backup outside bootstrap.window. */
  | 'bootstrap-window'
  /** A first backup past bootstrap.maxBytesPerWindow for the window's current opening. */
  | 'bootstrap-budget';

export interface HeldUser {
  userid: string;
  reason: HoldReason;
  /** In words, with the time or limit that applies (`retry after 2026-…`, `maxPerCycle 500`). */
  detail: string;
  /** When a window or budget hold ends: the window opens, or the budget starts again (ms). */
  until?: number;
}

/** Why a due user is planned: shown by `plan`. */
export interface PlannedUser {
  userid: string;
  server: string;
  state: UserStatus['state'];
  age: number | null;
  kind: 'refresh' | 'first';
}

export interface CyclePlan {
  /** Refresh commands, oldest users first; the executor spreads them over each server's connections. */
  refreshes: PlannedCommand[];
  /** At most one group of first backups; each of its users gets its own command. */
  firstGroup: FirstBackupGroup | null;
  planned: PlannedUser[];
  held: HeldUser[];
}
