// One scheduler cycle, decided without I/O (spec §4, §5): who is backed up now, by which
// XBACKUP commands, and who is held back by which limit.
import { ALL_DAY, localWhen, windowState, type DailyWindow } from '../../units/daily-window.js';
import { formatAge } from '../../units/duration.js';
import { formatBytes } from '../../units/size.js';
import { useridToMailbox } from '../../imap/mailbox-names.js';
import { WireValueError } from '../../imap/wire-value-error.js';
import type { UserStatus } from '../../staleness/classify.js';
import { batchPatterns } from './batch-patterns.js';
import { SHARED_BACKUP_KEY } from '../../cyrus-names/cyrus-userid.js';
import { chooseFirstBackupGroup, type BudgetLeft } from './bootstrap-group.js';
import type { BootstrapLimits, CyclePlan, FirstBackupGroup, HeldUser, PlanInput, PlannedCommand, PlannedUser, PlanServer } from './plan-types.js';

/** A due user that no per-user limit holds back. */
interface Candidate {
  user: UserStatus;
  server: PlanServer;
  /** Its INBOX as it goes on the wire. */
  inbox: string;
}

type Hold = Omit<HeldUser, 'userid'>;

/**
 * Refreshes (`stale`, and `failing` users past their backoff) most messages at risk first, then oldest, batched per server
 * into patterns that match no one else; then at most one group of first backups, within what
 * policy.maxPerCycle leaves. Every due user that is not planned is in `held`, with the limit.
 */
export function planCycle(input: PlanInput): CyclePlan {
  const servers = new Map(input.servers.map((server) => [server.name, server]));
  const held: HeldUser[] = [];
  const hold = (user: UserStatus, why: Hold) => held.push({ userid: user.userid, ...why });
  const refreshCandidates: Candidate[] = [];
  const firstCandidates: Candidate[] = [];
  const refreshWindowShut = windowHold(input.refreshWindow, 'policy-window', 'policy.window', 'refreshes of users already backed up', input);

  for (const user of input.users) {
    const way = backupWay(user, input.refreshFromAge);
    if (way === 'never') {
      hold(user, notBackedUpByUs(user));
      continue;
    }
    if (way === 'not-due' || (way === 'first' && !input.includeFirstBackups)) continue;
    const server = user.server === null ? undefined : servers.get(user.server);
    if (server === undefined) {
      hold(user, serverUnknown(user));
      continue;
    }
    const inbox = inboxOnTheWire(user, server);
    if (typeof inbox !== 'string') {
      hold(user, inbox);
      continue;
    }
    if (way === 'refresh' && refreshWindowShut) {
      hold(user, refreshWindowShut);
      continue;
    }
    const why = userHold(user, server, input);
    if (why) hold(user, why);
    else (way === 'refresh' ? refreshCandidates : firstCandidates).push({ user, server, inbox });
  }

  refreshCandidates.sort((a, b) => mostAtRiskFirst(a.user, b.user));
  const maxPerCycle = Math.max(0, input.maxPerCycle);
  const refreshUsers = refreshCandidates.slice(0, maxPerCycle);
  for (const { user } of refreshCandidates.slice(maxPerCycle)) {
    hold(user, { reason: 'max-per-cycle', detail: `policy.maxPerCycle ${maxPerCycle} is taken by users with more messages at risk or older backups` });
  }

  const firstGroup = planFirstGroup(firstCandidates, input, maxPerCycle - refreshUsers.length, hold);
  const refreshes = refreshCommands(refreshUsers, firstGroup);
  const userById = new Map([...refreshUsers, ...firstCandidates].map(({ user }) => [user.userid, user]));
  const planned: PlannedUser[] = [
    ...refreshes.flatMap((command) => command.userids.map((userid) => plannedUser(userById.get(userid)!, command.server, 'refresh'))),
    ...(firstGroup?.users ?? []).map(({ userid, server }) => plannedUser(userById.get(userid)!, server, 'first')),
  ];
  return { refreshes, firstGroup, planned, held };
}

type BackupWay = 'refresh' | 'first' | 'never' | 'not-due';

function backupWay(user: UserStatus, refreshFromAge: number): BackupWay {
  // Shared mailboxes have no first-backup throttle of their own: never backed up, they are simply due.
  if (user.userid === SHARED_BACKUP_KEY && (user.state === 'missing' || user.state === 'failing')) return 'refresh';
  switch (user.state) {
    case 'fresh':
      return user.age !== null && user.age >= refreshFromAge ? 'refresh' : 'not-due';
    case 'stale':
      return 'refresh';
    case 'failing':
      // Failing without ever having been backed up is a first backup that keeps failing: it
      // stays behind the bootstrap throttle and out of batch patterns.
      return user.age === null ? 'first' : 'refresh';
    case 'missing':
      return 'first';
    case 'damaged':
      // Cyrus found part of the backup wrong; what comes after it is still worth having, by age as ever.
      return user.age === null || user.age >= refreshFromAge ? 'refresh' : 'not-due';
    case 'orphan':
    case 'unreadable':
    case 'conflict':
      return 'never';
  }
}

function notBackedUpByUs(user: UserStatus): Hold {
  const why =
    user.state === 'orphan'
      ? 'in backups.db but on no configured IMAP server (deleted, renamed or moved?)'
      : user.state === 'unreadable'
        ? `its backup cannot be read${user.error ? `: ${user.error}` : ''}`
        : (user.error ?? 'found on more than one IMAP server');
  return { reason: 'not-backed-up-by-us', detail: `${user.state}: ${why}; reported, never backed up` };
}

function serverUnknown(user: UserStatus): Hold {
  return {
    reason: 'server-unknown',
    detail: user.server === null ? 'found on no IMAP server this cycle (did its server answer discovery?)' : `its server ${user.server} is not among the servers of this cycle`,
  };
}

/** The user's INBOX name for XBACKUP (for %SHARED, its first shared mailbox), or why it cannot be sent at all. */
function inboxOnTheWire(user: UserStatus, server: PlanServer): string | Hold {
  if (user.userid === SHARED_BACKUP_KEY) {
    return server.sharedMailboxes[0] ?? { reason: 'server-unknown', detail: `${server.name} listed no shared mailbox this cycle` };
  }
  try {
    return useridToMailbox(user.userid, server.naming);
  } catch (error) {
    if (!(error instanceof WireValueError)) throw error;
    return { reason: 'not-backed-up-by-us', detail: `its userid cannot be sent in an XBACKUP command: ${error.reason}` };
  }
}

/** The first per-user limit that holds a due user back, or null. */
function userHold(user: UserStatus, server: PlanServer, input: PlanInput): Hold | null {
  const { now } = input;
  if (input.inFlightUsers.has(user.userid)) {
    return { reason: 'in-flight', detail: 'an XBACKUP of this user is still running; never the same user twice at once' };
  }
  if (input.maintenanceUsers.has(user.userid)) {
    return { reason: 'maintenance', detail: 'ctl_backups is verifying or compacting its backup (the maintenance lane); backed up once it ends' };
  }
  if (user.inDoubt) {
    const started = user.lastAttempt ? ` (started ${iso(user.lastAttempt.startedAt)})` : '';
    return {
      reason: 'in-doubt',
      detail: `its last XBACKUP${started} timed out or lost its connection and the server may still be running it: waits for a new chunk in its index or the end of retry.inDoubtGrace`,
    };
  }
  if (server.pausedUntil !== null && server.pausedUntil > now) {
    return { reason: 'server-paused', detail: `server ${server.name} is paused until ${iso(server.pausedUntil)} (${formatAge(server.pausedUntil - now)} from now) after its connection or channel failed` };
  }
  const nextAttemptAt = input.memory.get(user.userid)?.nextAttemptAt ?? null;
  if (nextAttemptAt !== null && nextAttemptAt > now) {
    return { reason: 'backoff', detail: `retry after ${iso(nextAttemptAt)} (${formatAge(nextAttemptAt - now)} from now), backing off after failed attempts` };
  }
  return null;
}

/** Larger age first; a user never backed up (no age) after all others; then by userid. */
/** Who goes first: the users with the most messages not yet in their backups, then the oldest backups. */
function mostAtRiskFirst(a: UserStatus, b: UserStatus): number {
  const atRisk = (u: UserStatus) => (u.behind === null ? -1 : u.behind.messages);
  if (atRisk(a) !== atRisk(b)) return atRisk(b) - atRisk(a);
  if (a.age !== b.age) {
    if (a.age === null) return 1;
    if (b.age === null) return -1;
    return b.age - a.age;
  }
  return a.userid < b.userid ? -1 : a.userid > b.userid ? 1 : 0;
}

/** The next first-backup group, or null; every candidate left out is held with the reason. */
function planFirstGroup(
  candidates: readonly Candidate[],
  input: PlanInput,
  roomInCycle: number,
  hold: (user: UserStatus, why: Hold) => void,
): FirstBackupGroup | null {
  if (candidates.length === 0) return null;
  const groupHold = bootstrapHold(input) ?? (roomInCycle < 1 ? maxPerCycleUsedUp(input.maxPerCycle) : null);
  if (groupHold) {
    for (const { user } of candidates) hold(user, groupHold);
    return null;
  }
  const choice = chooseFirstBackupGroup(
    candidates.map(({ user, server }) => ({ userid: user.userid, server: server.name, sizeBytes: user.mailBytes })),
    { ...input.bootstrap, budget: budgetLeft(input) },
    roomInCycle,
  );
  if (choice === null) return null;
  const byUserid = new Map(candidates.map(({ user }) => [user.userid, user]));
  for (const { userid } of choice.waiting) hold(byUserid.get(userid)!, choice.whyWaiting!);
  return choice.group.users.length > 0 ? choice.group : null;
}

/** A closed window's hold, saying when it opens; null when the window is open or there is none. */
function windowHold(window: DailyWindow | null, reason: Hold['reason'], key: string, what: string, { now, timeZone }: PlanInput): Hold | null {
  if (window === null) return null;
  const { open, opensAt } = windowState(window, now, timeZone);
  if (open || opensAt === null) return null;
  return { reason, detail: `${key} ${window.text} is closed: ${what} wait until it opens at ${localWhen(opensAt, now, timeZone)}`, until: opensAt };
}

/**
 * What bootstrap.maxBytesPerWindow leaves in the window's current opening, and when it starts again: when
 * the window next opens (without bootstrap.window, at the next local midnight). Null without a budget.
 */
export function budgetLeft({ bootstrap, now, timeZone }: { bootstrap: Pick<BootstrapLimits, 'budget' | 'window'>; now: number; timeZone?: string | undefined }): BudgetLeft | null {
  if (bootstrap.budget === null) return null;
  const window = bootstrap.window ?? ALL_DAY;
  const current = windowState(window, now, timeZone);
  const after = current.closesAt === null ? null : windowState(window, current.closesAt, timeZone);
  const resetsAt = after === null ? null : after.open ? after.openedAt : after.opensAt;
  const { maxBytes, usedBytes } = bootstrap.budget;
  return {
    bytes: Math.max(0, maxBytes.value - usedBytes),
    untouched: usedBytes === 0,
    why: (next) =>
      `bootstrap.maxBytesPerWindow ${maxBytes.text}: ${formatBytes(usedBytes)} of first backups started in this window${next}; the budget starts again ${
        resetsAt === null ? 'when the window next opens' : `at ${localWhen(resetsAt, now, timeZone)}`
      }`,
    resetsAt,
  };
}

/** What stops any first-backup group from starting now (spec §5), or null. */
function bootstrapHold(input: PlanInput): Hold | null {
  const { bootstrap, now } = input;
  const windowShut = windowHold(bootstrap.window, 'bootstrap-window', 'bootstrap.window', 'first backups', input);
  if (windowShut) return windowShut;
  if (bootstrap.groupInFlight) {
    return { reason: 'bootstrap-group-in-flight', detail: 'a first-backup group is still running; groups go one at a time' };
  }
  if (bootstrap.nextGroupAt !== null && bootstrap.nextGroupAt > now) {
    return {
      reason: 'bootstrap-pause',
      detail: `the next first-backup group starts after ${iso(bootstrap.nextGroupAt)} (${formatAge(bootstrap.nextGroupAt - now)} from now; bootstrap.pause after the previous group)`,
    };
  }
  if (bootstrap.stagingShort) {
    return { reason: 'staging-space', detail: 'the backup staging path has less free space than bootstrap.minStagingFreeBytes; first backups wait until it has' };
  }
  const budget = budgetLeft(input);
  // Used up, by a group or by a user larger than the budget that went alone: unknown sizes (counted as 0) wait too.
  if (budget !== null && budget.bytes === 0) {
    return { reason: 'bootstrap-budget', detail: budget.why(', which uses it up'), ...(budget.resetsAt !== null && { until: budget.resetsAt }) };
  }
  return null;
}

function maxPerCycleUsedUp(maxPerCycle: number): Hold {
  return { reason: 'max-per-cycle', detail: `policy.maxPerCycle ${Math.max(0, maxPerCycle)} is taken by refreshes, which go first` };
}

/**
 * Each server's refreshes as batch patterns, spread over the connections it has free (its
 * maxConcurrent, less what is running and the new first-backup group's users there). Commands
 * come in the order of the oldest user each one holds, and list their users oldest first.
 */
function refreshCommands(refreshUsers: readonly Candidate[], firstGroup: FirstBackupGroup | null): PlannedCommand[] {
  const rank = new Map(refreshUsers.map(({ user }, i) => [user.userid, i]));
  const byServer = new Map<PlanServer, Map<string, string>>();
  for (const { user, server, inbox } of refreshUsers) {
    const inboxes = byServer.get(server) ?? new Map<string, string>();
    byServer.set(server, inboxes.set(user.userid, inbox));
  }
  const commands: PlannedCommand[] = [];
  for (const [server, allowed] of byServer) {
    if (allowed.delete(SHARED_BACKUP_KEY)) {
      const mailboxes = server.sharedMailboxes;
      commands.push({ server: server.name, pattern: mailboxes[0]!, userids: [SHARED_BACKUP_KEY], kind: 'refresh', mailboxes });
    }
    const firstBackupsThere = firstGroup?.users.filter((user) => user.server === server.name).length ?? 0;
    const freeSlots = Math.max(1, server.maxConcurrent - server.inFlight - firstBackupsThere);
    for (const batch of batchPatterns(server, allowed, freeSlots)) {
      const userids = batch.userids.sort((a, b) => rank.get(a)! - rank.get(b)!);
      commands.push({ server: server.name, pattern: batch.pattern, userids, kind: 'refresh' });
    }
  }
  return commands.sort((a, b) => rank.get(a.userids[0]!)! - rank.get(b.userids[0]!)!);
}

function plannedUser(user: UserStatus, server: string, kind: PlannedUser['kind']): PlannedUser {
  return { userid: user.userid, server, state: user.state, age: user.age, kind };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
