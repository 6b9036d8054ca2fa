// What counts as a user's backup, and from when its age counts: the one place that decides whether the
// index's newest chunk, our own record of verified backups, a comparison with the live mailboxes, or
// none of them is believed.
import type { BackupIndexSummary } from '../backupd/backup-summary.js';
import { formatAge } from '../units/duration.js';
import { isoTime } from '../units/time.js';
import type { UserHistory } from './user-history.js';

/**
 * A chunk dated further than this past now is not believed. backupd stamps chunks with this machine's
 * clock, so anything beyond a report's own run time means the clock was ahead then, or the file is damaged.
 */
export const FUTURE_TOLERANCE_MS = 60_000;

/**
 * `untrustedThrough` when which chunks a failed attempt left cannot be known (its connection dropped, and
 * imapd itself may have died mid-backup, after which backupd commits what it had): none counts until an
 * attempt succeeds.
 */
export const UNTIL_A_SUCCESS = Number.MAX_SAFE_INTEGER;

/** When the backup was last found to hold everything the live mailboxes had, and how long that may stand in for a backup. */
export interface InSyncEvidence {
  /** The latest time the backup was found in sync with the live mailboxes (ms), or null. */
  lastInSync: number | null;
  /** policy.maxUnchangedAge: after this long since the last real backup, being in sync no longer counts. */
  maxUnchangedAge: number;
}

export interface BackupEvidence {
  /** When the user's backup was last known whole (ms): its age counts from here. Null: nothing counts. */
  backedUpAt: number | null;
  /** When it was last really backed up (the index's newest chunk, or our verified record), ignoring lastInSync. */
  realBackupAt: number | null;
  /** A backup exists but its date is not believed: due now, with no age to show. */
  undated: boolean;
  /** Why the index's newest chunk was not taken at its word, for the admin. */
  note: string | null;
  /** The history with an in-doubt attempt that the index has since settled counted as the success it was. */
  history: UserHistory | undefined;
}

/**
 * The newest chunk by id is the backup, unless a failed attempt left it (backupd committed part of a user,
 * then the attempt failed: part of the mail at most) or its date lies in the future. Our own record of
 * verified backups counts beside it, since `ctl_backups compact` moves the index's newest end back.
 * A later time the backup was found in sync with the live mailboxes counts too (it held everything then),
 * but only for policy.maxUnchangedAge after the last real backup: HIGHESTMODSEQ does not show every change
 * a backup holds (docs/modseq-coverage.md), so an unchanged user is still backed up that often.
 */
export function backupEvidence(index: BackupIndexSummary | null, past: UserHistory | undefined, now: number, inSync?: InSyncEvidence): BackupEvidence {
  const history = settleInDoubt(past, index, now);
  const chunk = index?.newestChunkId ?? null;
  let fromIndex = index?.lastBackup ?? null;
  let note: string | null = null;
  let undated = false;
  if (chunk !== null && history?.untrustedThrough != null && chunk <= history.untrustedThrough) {
    fromIndex = history.trustedBackupAt;
    note =
      `chunk ${chunk} came from an attempt that failed or lost its connection, and may hold only part of the mail: ` +
      `it counts as no backup${fromIndex === null ? '' : ` (the last whole one ended ${isoTime(fromIndex)})`} until an attempt succeeds`;
  }
  if (fromIndex !== null && fromIndex > now + FUTURE_TOLERANCE_MS) {
    note = `its newest chunk ${chunk} ends ${isoTime(fromIndex)}, ${formatAge(fromIndex - now)} in the future: not believed (was this server's clock ahead?); the next backup replaces it`;
    fromIndex = null;
    undated = true;
  }
  const verified = history?.lastVerified != null && history.lastVerified <= now + FUTURE_TOLERANCE_MS ? history.lastVerified : null;
  const realBackupAt = fromIndex === null ? verified : verified === null ? fromIndex : Math.max(fromIndex, verified);
  let backedUpAt = realBackupAt;
  const lastInSync = inSync?.lastInSync ?? null;
  if (realBackupAt !== null && lastInSync !== null && lastInSync > realBackupAt && lastInSync <= now + FUTURE_TOLERANCE_MS) {
    if (now - realBackupAt < inSync!.maxUnchangedAge) {
      backedUpAt = lastInSync;
      // Its mailbox rows say what those chunks hold: everything, then.
      if (note !== null) note += `; since found in sync with its mailboxes (${isoTime(lastInSync)}), which counts`;
    } else {
      note ??=
        `in sync with its mailboxes at ${isoTime(lastInSync)}, but last backed up ${formatAge(now - realBackupAt)} ago (policy.maxUnchangedAge ${formatAge(inSync!.maxUnchangedAge)}): ` +
        'backed up again for what mailbox states do not show (subscriptions, sieve scripts, seen flags in shared folders)';
    }
  }
  return { backedUpAt, realBackupAt, undated: undated && backedUpAt === null, note, history };
}

/**
 * An attempt left in doubt (a timeout, a crash of this process, a dropped connection) whose user's index has
 * since gained a chunk past the one it had before: the server is done with it. After a timeout or a crash
 * the server was alive and finished it: a success, in the history and in the count of failures in a row.
 * After a dropped connection it may have died: the doubt is over, but the attempt stays a failure and its
 * chunk is not trusted (UNTIL_A_SUCCESS), so the user is retried.
 */
export function settleInDoubt(past: UserHistory | undefined, index: BackupIndexSummary | null, now: number): UserHistory | undefined {
  const chunk = index?.newestChunkId ?? null;
  if (!past || !isSettledBy(past, chunk)) return past;
  if (past.untrustedThrough === UNTIL_A_SUCCESS) return { ...past, inDoubtUntil: null, inDoubtChunkBefore: null };
  const endedAt = Math.min(index!.lastBackup ?? now, now);
  return {
    ...past,
    consecutiveFailures: 0,
    inDoubtUntil: null,
    inDoubtChunkBefore: null,
    untrustedThrough: null,
    trustedBackupAt: null,
    lastVerified: past.lastVerified === null ? endedAt : Math.max(past.lastVerified, endedAt),
    lastAttempt: past.lastAttempt && { ...past.lastAttempt, outcome: 'ok', error: settledNote(past.lastAttempt.error, chunk!) },
  };
}

/** Whether `chunk`, the index's newest, settles the user's in-doubt attempt. */
export function isSettledBy(past: UserHistory, chunk: number | null): boolean {
  return past.inDoubtUntil !== null && past.inDoubtChunkBefore !== null && chunk !== null && chunk > past.inDoubtChunkBefore;
}

export function settledNote(error: string | null, chunk: number): string {
  return `${error ?? 'in doubt'}; settled: the server finished it (chunk ${chunk} appeared)`;
}
