import { decodeBackedUpMailboxes } from '../backupd/backed-up-mailboxes.js';
import type { BackupdEntry } from '../backupd/scan.js';
import { decodeLive, type LiveState } from '../imap/live-mailboxes.js';
import { compareWithBackup, type Behind } from './sync-comparison.js';

/** A user's backup compared with its live mailboxes as read at `at`. */
export interface LiveComparison {
  at: number;
  behind: Behind | null;
  /** `at` when the backup held everything then, else null. */
  inSyncAt: number | null;
}

/**
 * The comparison of a user's backup with its live mailboxes, or null when there is nothing to compare: no
 * live state (time alone judges the user), or no readable backup (a user without one is behind by all of
 * it, which `missing` says already).
 */
export function liveComparison(entry: BackupdEntry | undefined, live: LiveState | null): LiveComparison | null {
  if (!live || !entry?.index || entry.error) return null;
  let held;
  try {
    held = decodeBackedUpMailboxes(entry.index.mailboxes);
  } catch {
    // Only the scan cache in the state database, this tool's own file, could hold text it did not write:
    // the user is then judged by age alone, which never calls anything in sync.
    return null;
  }
  const behind = compareWithBackup(decodeLive(live), held);
  return { at: live.at, behind, inSyncAt: behind === null ? live.at : null };
}
