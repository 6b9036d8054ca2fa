import type { UserStatus } from '../../staleness/classify.js';

/**
 * The users a reading of their mailboxes spared: due by what was known before it (their last real backup,
 * or the last time they were recorded in sync), fresh because it found them in sync, and not planned. The
 * cycle records them as `in-sync` once per time they would have been backed up, not once per reading: an
 * unchanged user read every hour makes one row per maxAge, as its backups did.
 */
export function sparedBySync(
  users: readonly UserStatus[],
  recordedInSync: (userid: string) => number | null,
  planned: ReadonlySet<string>,
  refreshFromAge: number,
  now: number,
): UserStatus[] {
  return users.filter((u) => {
    if (u.state !== 'fresh' || u.lastInSync === null || u.realAge === null || planned.has(u.userid)) return false;
    const recorded = recordedInSync(u.userid);
    if (recorded !== null && u.lastInSync <= recorded) return false;
    const ageBefore = recorded === null ? u.realAge : Math.min(u.realAge, now - recorded);
    return ageBefore >= refreshFromAge;
  });
}
