import { SHARED_BACKUP_KEY } from '../cyrus-names/cyrus-userid.js';
import { serverConflict } from './server-conflict.js';
import type { BackupdEntry, BackupdView } from '../backupd/scan.js';
import type { FleetDiscovery } from '../imap/fleet-discovery.js';
import type { LiveState } from '../imap/live-mailboxes.js';
import { isoTime } from '../units/time.js';
import { backupEvidence, type BackupEvidence } from './backup-evidence.js';
import { liveComparison } from './live-comparison.js';
import type { Behind } from './sync-comparison.js';
import { damagedText } from './damaged-text.js';
import type { DeepVerify, UserHistory, LastAttempt } from './user-history.js';
import type { UserState } from './user-state.js';

export type DiscoveryCoverage = 'complete' | 'partial' | 'none';

export interface StalenessPolicy {
  maxAge: number;
  failingAfter: number;
  /**
   * How long after its last real backup a user found in sync with its mailboxes may go without another;
   * never less than maxAge, which `report --max-age` may raise past it.
   */
  maxUnchangedAge: number;
}

/** Everything a report shows about one user. Times are ms since the epoch. */
export interface UserStatus {
  userid: string;
  state: UserState;
  server: string | null;
  lastBackup: number | null;
  lastVerified: number | null;
  /** When Cyrus's deep verification (`ctl_backups verify`) last ended on this backup's data file; null: never. */
  lastDeepVerify: number | null;
  /** now − when the backup was last known whole (backup-evidence.ts); null without one, or when its date is not believed. */
  age: number | null;
  dataFile: string | null;
  dataBytes: number | null;
  chunks: number | null;
  /** Size of the user's mail on the IMAP server, when discovery could tell. */
  mailBytes: number | null;
  /**
   * What the backup lacks of the live mailboxes as last read (at comparedAt); null when it lacks nothing
   * then, or when they were not compared (comparedAt null).
   */
  behind: Behind | null;
  /** When the live mailboxes last compared were read (ms); null: never compared, time alone judges this user. */
  comparedAt: number | null;
  /** The latest time the backup was found to hold everything the live mailboxes had (ms), or null. */
  lastInSync: number | null;
  /** now − its last real backup, lastInSync left out: its age were it not compared; null as `age`. */
  realAge: number | null;
  error: string | null;
  lastAttempt: LastAttempt | null;
  inDoubt: boolean;
}

export interface ClassifyInput {
  backupd: BackupdView;
  /** null when no IMAP server was asked (offline report). */
  discovery: FleetDiscovery | null;
  history: ReadonlyMap<string, UserHistory> | null;
  policy: StalenessPolicy;
  now: number;
}

export interface Classification {
  coverage: DiscoveryCoverage;
  users: UserStatus[];
}


/** Pure: the state of every user the backup server or the IMAP servers know, at `now`. */
export function classifyUsers(input: ClassifyInput): Classification {
  const { backupd, discovery, history, policy, now } = input;
  const coverage: DiscoveryCoverage =
    discovery === null || discovery.servers.length === 0 ? 'none' : discovery.servers.every((s) => s.ok) ? 'complete' : 'partial';

  const foundOn = new Map<string, Found>();
  for (const server of discovery?.servers ?? []) {
    for (const user of server.users) {
      const found = foundOn.get(user.userid);
      if (found) (found.alsoOn ??= []).push(server.name);
      else foundOn.set(user.userid, { server: server.name, mailBytes: user.sizeBytes, live: user.live, alsoOn: null });
    }
  }
  const entries = new Map<string, BackupdEntry>();
  for (const entry of backupd.entries) entries.set(entry.userid, entry);

  const users = sortedUnion(backupd.entries, foundOn, entries).map((userid): UserStatus => {
    const entry = entries.get(userid);
    const found = foundOn.get(userid);
    const remembered = history?.get(userid);
    const compared = liveComparison(entry, found?.live ?? null);
    const lastInSync = latest(remembered?.lastInSync ?? null, compared?.inSyncAt ?? null);
    const evidence = backupEvidence(entry?.index ?? null, remembered, now, { lastInSync, maxUnchangedAge: Math.max(policy.maxUnchangedAge, policy.maxAge) });
    const past = evidence.history;
    const age = evidence.backedUpAt === null ? null : now - evidence.backedUpAt;
    const deep = deepVerifyOf(entry, past);
    const { state, error } = decide(userid, { entry, found, past, deep, evidence, age, coverage, discoveredFrom: discovery?.startedAt ?? null, policy });
    return {
      userid,
      state,
      server: found?.server ?? null,
      lastBackup: entry?.index?.lastBackup ?? null,
      lastVerified: past?.lastVerified ?? null,
      lastDeepVerify: deep?.at ?? null,
      age,
      dataFile: entry?.dataFile ?? null,
      dataBytes: entry?.index?.dataBytes ?? null,
      chunks: entry?.index?.chunks ?? null,
      mailBytes: found?.mailBytes ?? null,
      behind: compared?.behind ?? null,
      comparedAt: compared?.at ?? null,
      lastInSync,
      realAge: evidence.realBackupAt === null ? null : now - evidence.realBackupAt,
      error,
      lastAttempt: past?.lastAttempt ?? null,
      inDoubt: past !== undefined && past.inDoubtUntil !== null && now < past.inDoubtUntil,
    };
  });
  return { coverage, users };
}

/** Where discovery found a user: the first server, and any other (a conflict). */
interface Found {
  server: string;
  mailBytes: number | null;
  live: LiveState | null;
  alsoOn: string[] | null;
}

/** The last deep verification, when it was of the data file the user has now: a verdict on a file since replaced is not this backup's. */
function deepVerifyOf(entry: BackupdEntry | undefined, past: UserHistory | undefined): DeepVerify | null {
  const deep = past?.deepVerify ?? null;
  return entry && deep && deep.subject?.dataFile === entry.dataFile ? deep : null;
}

const latest = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

/**
 * Every userid of backups.db and discovery, once each, sorted. backups.db lists its users in key order,
 * which for plain ASCII userids is already the sort order: then only the users it lacks are sorted and
 * merged in, instead of sorting a hundred thousand strings every cycle.
 */
function sortedUnion(backupdEntries: readonly BackupdEntry[], foundOn: ReadonlyMap<string, Found>, entries: ReadonlyMap<string, BackupdEntry>): string[] {
  const backedUp = backupdEntries.map((e) => e.userid);
  const inOrder = backedUp.every((userid, i) => i === 0 || backedUp[i - 1]! < userid);
  if (!inOrder) return [...new Set([...backedUp, ...foundOn.keys()])].sort();
  const onlyFound = [...foundOn.keys()].filter((userid) => !entries.has(userid)).sort();
  const merged = new Array<string>(backedUp.length + onlyFound.length);
  let i = 0;
  let j = 0;
  for (let k = 0; k < merged.length; k++) {
    merged[k] = j >= onlyFound.length || (i < backedUp.length && backedUp[i]! < onlyFound[j]!) ? backedUp[i++]! : onlyFound[j++]!;
  }
  return merged;
}

interface Evidence {
  entry: BackupdEntry | undefined;
  found: Found | undefined;
  past: UserHistory | undefined;
  deep: DeepVerify | null;
  evidence: BackupEvidence;
  age: number | null;
  coverage: DiscoveryCoverage;
  /** When the last discovery began: a user backed up since may have been created since. */
  discoveredFrom: number | null;
  policy: StalenessPolicy;
}

/** The first state that applies, in order of what an admin must act on first, and why. */
function decide(userid: string, { entry, found, past, deep, evidence, age, coverage, discoveredFrom, policy }: Evidence): { state: UserState; error: string | null } {
  const conflict = found?.alsoOn ? serverConflict(userid, [found.server, ...found.alsoOn]) : null;
  if (conflict) return { state: 'conflict', error: conflict };
  if (entry?.error) return { state: 'unreadable', error: entry.error.message };
  if (deep?.damage != null) return { state: 'damaged', error: damagedText(userid, deep) };
  if (past && past.consecutiveFailures >= policy.failingAfter) {
    const last = past.lastAttempt?.error;
    return { state: 'failing', error: `${past.consecutiveFailures} failed attempts in a row${last ? `; last: ${last}` : ''}` };
  }
  let note = evidence.note;
  if (entry && !found && coverage === 'complete' && userid !== SHARED_BACKUP_KEY) {
    const backedUpSince = evidence.backedUpAt !== null && discoveredFrom !== null && evidence.backedUpAt >= discoveredFrom;
    if (!backedUpSince) return { state: 'orphan', error: 'in backups.db but on no configured IMAP server (deleted, renamed or moved user?)' };
    note ??= `on no IMAP server at the last discovery (${isoTime(discoveredFrom!)}) but backed up since: a new user, whose server the next discovery finds`;
  }
  if (age === null) return evidence.undated ? { state: 'stale', error: note } : { state: 'missing', error: note };
  return { state: age < policy.maxAge ? 'fresh' : 'stale', error: note };
}
