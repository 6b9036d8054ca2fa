import { SHARED_BACKUP_KEY } from '../../cyrus-names/cyrus-userid.js';
import type { UserStatus } from '../../staleness/classify.js';
import type { FleetDeepVerify, StalenessReport } from '../../staleness/report.js';
import { isoOrNull } from '../../units/time.js';

/** The stable shape of spec §3.1; scripts and monitoring depend on every key. */
export function reportToJson(report: StalenessReport): object {
  return {
    generatedAt: new Date(report.generatedAt).toISOString(),
    // For `run`'s /status: its ages are as of generatedAt, its states as the last cycle decided them then.
    classifiedAt: new Date(report.classifiedAt).toISOString(),
    maxAgeSeconds: Math.floor(report.maxAge / 1000),
    discovery: report.coverage,
    counts: report.counts,
    // Over every user, as counts: what the backups lack of the live mailboxes as last read.
    behind: report.behind,
    compared: report.compared,
    // Over every backup, as counts: how recently Cyrus's deep verification (`ctl_backups verify`) went over them.
    deepVerify: deepVerifyToJson(report.deepVerify),
    users: report.users.map(userToJson),
  };
}

export function deepVerifyToJson(d: FleetDeepVerify): object {
  return { backups: d.backups, recent: d.recent, recentWithinSeconds: Math.floor(d.recentMs / 1000), never: d.never, oldest: isoOrNull(d.oldestAt) };
}

/** One user as §3.1 shows it (also on the status page). */
export function userToJson(u: UserStatus): object {
  return {
    userid: u.userid,
    kind: u.userid === SHARED_BACKUP_KEY ? 'shared' : 'user',
    state: u.state,
    server: u.server,
    lastBackup: isoOrNull(u.lastBackup),
    lastVerified: isoOrNull(u.lastVerified),
    lastDeepVerify: isoOrNull(u.lastDeepVerify),
    ageSeconds: u.age === null ? null : Math.floor(u.age / 1000),
    dataFile: u.dataFile,
    dataBytes: u.dataBytes,
    chunks: u.chunks,
    behind: u.behind,
    comparedAt: isoOrNull(u.comparedAt),
    lastInSync: isoOrNull(u.lastInSync),
    error: u.error,
    lastAttempt: u.lastAttempt && {
      startedAt: new Date(u.lastAttempt.startedAt).toISOString(),
      outcome: u.lastAttempt.outcome,
      error: u.lastAttempt.error,
    },
  };
}

/** Users per piece of output: a 100,000-user report never exists as one object tree or one string. */
const USERS_PER_CHUNK = 1000;

/** reportToJson(report) as JSON text, in pieces to write one after the other. */
export function* reportJsonChunks(report: StalenessReport): Generator<string> {
  // users is the last key: the empty list's `]}` is cut off and the users follow.
  yield JSON.stringify(reportToJson({ ...report, users: [] })).slice(0, -2);
  for (let start = 0; start < report.users.length; start += USERS_PER_CHUNK) {
    // One JSON.stringify per piece, not per user: joining 100,000 small strings cost more than writing them.
    const part = JSON.stringify(report.users.slice(start, start + USERS_PER_CHUNK).map(userToJson));
    yield (start === 0 ? '' : ',') + part.slice(1, -1);
  }
  yield ']}\n';
}
