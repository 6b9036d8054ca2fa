import type { UserStatus } from '../../src/staleness/classify.js';

/** A classified user as the report and the planner see it; a user with an age has a backup on disk. */
export function userStatus(userid: string, state: UserStatus['state'], age: number | null, now: number, extra: Partial<UserStatus> = {}): UserStatus {
  return {
    userid,
    state,
    server: state === 'orphan' ? null : 'imap1',
    lastBackup: age === null ? null : now - age,
    lastVerified: null,
    lastDeepVerify: null,
    age,
    dataFile: age === null ? null : `/b/${userid[0]}/${userid}_X`,
    dataBytes: age === null ? null : 2048,
    chunks: age === null ? null : 3,
    mailBytes: null,
    behind: null,
    comparedAt: null,
    lastInSync: null,
    realAge: age,
    error: null,
    lastAttempt: null,
    inDoubt: false,
    ...extra,
  };
}
