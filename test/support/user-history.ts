import type { UserHistory } from '../../src/staleness/user-history.js';

/** A user's history with nothing in it but `h`: no attempt, no failure, no doubt. */
export function userHistory(h: Partial<UserHistory> = {}): UserHistory {
  return { lastVerified: null, lastAttempt: null, consecutiveFailures: 0, inDoubtUntil: null, inDoubtChunkBefore: null, untrustedThrough: null, trustedBackupAt: null, lastInSync: null, deepVerify: null, ...h };
}
