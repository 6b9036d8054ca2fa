import { compileUseridPattern, matchesAny } from '../cyrus-names/userid-pattern.js';
import type { Classification, DiscoveryCoverage, UserStatus } from './classify.js';
import { USER_STATES, type UserState } from './user-state.js';

export type ReportSort = 'age' | 'size' | 'user';

export interface ReportOptions {
  states?: readonly UserState[];
  userPatterns?: readonly string[];
  sort?: ReportSort;
  limit?: number;
}

/** The one model every output format (table, JSON, CSV, Prometheus, Nagios) is written from. */
export interface StalenessReport {
  /** The moment the ages are as of. */
  generatedAt: number;
  /** When the users' states were decided (a scan and a discovery): generatedAt, or the last cycle's for `run`. */
  classifiedAt: number;
  maxAge: number;
  coverage: DiscoveryCoverage;
  /** What a reader must know to trust the numbers: why the view is incomplete, when it is. */
  notes: string[];
  /** Over every user, whatever the filters: monitoring must not lose sight of anyone. */
  counts: Record<UserState, number>;
  totalUsers: number;
  /** The user whose backup is oldest, among the users we back up (orphans age forever, by design). */
  oldest: UserStatus | null;
  /** Backup ages of every user we back up that has one (not orphans): the whole fleet, like `counts`. */
  ages: number[];
  /** Users with no backup at all. */
  neverBackedUp: number;
  /** Users with a backup whose date is not believed (dated in the future): due, with no age to count. */
  undated: number;
  /** Over every user, as `counts`: what the backups lack of the live mailboxes as last read. */
  behind: FleetBehind;
  /** Users whose backups were compared with their live mailboxes; the others are judged by time alone. */
  compared: number;
  /** Over every user, as `counts`: how recently Cyrus's deep verification went over the backups. */
  deepVerify: FleetDeepVerify;
  /** The filtered, sorted, limited selection. */
  users: UserStatus[];
}

/** What the fleet's backups lack: `messages` in `users`; bytes only when every one of them is known. */
export interface FleetBehind {
  users: number;
  mailboxes: number;
  messages: number;
  bytes: number | null;
}

/** Of the backups on the server (every user with a data file, orphans too: they may yet be restored). */
export interface FleetDeepVerify {
  backups: number;
  /** Verified within `recentMs` of generatedAt. */
  recent: number;
  recentMs: number;
  /** Never verified (or not since their data file was replaced). */
  never: number;
  /** The oldest last deep verification among the verified (ms), or null. */
  oldestAt: number | null;
}

export function buildReport(
  classification: Classification,
  context: { now: number; maxAge: number; notes?: readonly string[]; classifiedAt?: number; /** maintenance.verifyEvery: "recently" deep-verified. */ verifyEvery: number },
  options: ReportOptions = {},
): StalenessReport {
  const all = classification.users;
  const counts = Object.fromEntries(USER_STATES.map((s) => [s, 0])) as Record<UserState, number>;
  let oldest: UserStatus | null = null;
  const ages: number[] = [];
  const behind: FleetBehind = { users: 0, mailboxes: 0, messages: 0, bytes: 0 };
  let compared = 0;
  const deepVerify: FleetDeepVerify = { backups: 0, recent: 0, recentMs: context.verifyEvery, never: 0, oldestAt: null };
  for (const u of all) {
    counts[u.state]++;
    if (u.dataFile !== null) {
      deepVerify.backups++;
      if (u.lastDeepVerify === null) deepVerify.never++;
      else {
        if (context.now - u.lastDeepVerify < deepVerify.recentMs) deepVerify.recent++;
        if (deepVerify.oldestAt === null || u.lastDeepVerify < deepVerify.oldestAt) deepVerify.oldestAt = u.lastDeepVerify;
      }
    }
    if (u.comparedAt !== null) compared++;
    if (u.behind) {
      behind.users++;
      behind.mailboxes += u.behind.mailboxes;
      behind.messages += u.behind.messages;
      behind.bytes = behind.bytes === null || u.behind.bytes === null ? null : behind.bytes + u.behind.bytes;
    }
    if (u.age === null || u.state === 'orphan') continue;
    ages.push(Math.max(0, u.age));
    if (oldest === null || u.age > oldest.age!) oldest = u;
  }
  const patterns = options.userPatterns?.map(compileUseridPattern);
  const states = options.states && new Set(options.states);
  const selected = all
    .filter((u) => (!states || states.has(u.state)) && (!patterns || matchesAny(u.userid, patterns)))
    .sort(comparator(options.sort ?? 'age'));
  return {
    generatedAt: context.now,
    classifiedAt: context.classifiedAt ?? context.now,
    maxAge: context.maxAge,
    coverage: classification.coverage,
    notes: [...(context.notes ?? []), ...coverageNotes(classification.coverage)],
    counts,
    totalUsers: all.length,
    oldest,
    ages,
    neverBackedUp: all.filter((u) => u.age === null && u.state !== 'stale').length,
    undated: all.filter((u) => u.age === null && u.state === 'stale').length,
    behind,
    compared,
    deepVerify,
    users: options.limit === undefined ? selected : selected.slice(0, options.limit),
  };
}

function coverageNotes(coverage: DiscoveryCoverage): string[] {
  if (coverage === 'none') return ['no IMAP server was asked: missing users cannot be known, and no user can be called an orphan'];
  if (coverage === 'partial') return ['some IMAP servers could not be asked: their missing users are not known, and nobody is called an orphan'];
  return [];
}

/** Oldest first, with never-backed-up users (no age) before everyone; ties by userid so output is stable. */
function comparator(sort: ReportSort): (a: UserStatus, b: UserStatus) => number {
  const byUser = (a: UserStatus, b: UserStatus) => (a.userid < b.userid ? -1 : a.userid > b.userid ? 1 : 0);
  if (sort === 'user') return byUser;
  if (sort === 'size') return (a, b) => (b.dataBytes ?? b.mailBytes ?? -1) - (a.dataBytes ?? a.mailBytes ?? -1) || byUser(a, b);
  return (a, b) => (b.age ?? Infinity) - (a.age ?? Infinity) || byUser(a, b);
}
