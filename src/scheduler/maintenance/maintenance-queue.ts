// The maintenance rules, in one place: which backups are compacted and deep-verified, in what order, and
// how many verifications a window opening takes. A pure function of the fleet, the lane's memory and the
// clock; the lane (maintenance-lane.ts) carries out its answer.
import type { UserStatus } from '../../staleness/classify.js';
import type { BackupSubject, DeepVerify } from '../../staleness/user-history.js';
import { ALL_DAY, windowState, type DailyWindow, type WindowState } from '../../units/daily-window.js';

const DAY_MS = 86_400_000;

export interface MaintenancePolicy {
  /** maintenance.window; null: at any time. */
  window: DailyWindow | null;
  compactChunks: number;
  /** Percent; null: utilisation is not asked for. */
  compactBelowUtilisation: number | null;
  verifyEvery: number;
}

/** What the lane remembers of a user beyond its classification. */
export interface MaintenanceMemory {
  /** The last deep verification, whichever data file it was of (a damaged one changed since is rechecked). */
  deepVerify: DeepVerify | null;
  /** ctl_backups stat's utilisation (percent) of this data file, since its last compaction; null: not known. */
  utilisation: number | null;
  /** The user's last compaction: when it began, with how many chunks, and what ctl_backups said. */
  lastCompaction: { at: number; chunks: number | null; outcome: string | null } | null;
  /** An XBACKUP attempt of the user is in doubt or left chunks not to trust: compaction would renumber them. */
  attemptUnsettled: boolean;
}

export interface MaintenanceInput {
  now: number;
  users: readonly UserStatus[];
  memory: ReadonlyMap<string, MaintenanceMemory>;
  policy: MaintenancePolicy;
  /** Rolling verifications already started in the current opening (or local day, without a window). */
  rollingUsed: number;
  /** Users that must not be touched now: an XBACKUP of theirs in flight, or a maintenance run already under way. */
  busy: ReadonlySet<string>;
  timeZone?: string;
}

/**
 * `recheck`: a backup found damaged has changed since (the admin acted, or XBACKUPs added to it).
 * `compact`: past compactChunks chunks or below compactBelowUtilisation; verified first, compacted only
 * when whole (compaction drops what it cannot read without a word: docs/cyrus-facts-maintenance.md).
 * `rolling`: its turn in the verification of every backup at least every verifyEvery.
 */
export type MaintenanceReason = 'recheck' | 'compact' | 'rolling';

export interface MaintenanceJob {
  userid: string;
  reason: MaintenanceReason;
  /** Why, for the admin: `142 chunks (more than 100)`, `never verified`. */
  detail: string;
  subject: BackupSubject;
  /** When the user was last really backed up (for compaction to keep), or null. */
  realBackupAt: number | null;
}

export interface MaintenanceQueue {
  /** The maintenance window now; all day when none is set. */
  window: WindowState;
  /** Whether work may start now (the window is open). */
  open: boolean;
  /** Due now, in the order to run: rechecks, compactions (most chunks first), then this opening's share of verifications. */
  jobs: MaintenanceJob[];
  /** Rolling verifications per opening: backups × one day ÷ verifyEvery, rounded up. */
  share: number;
  /** Backups due for verification beyond this opening's share: they wait for the next openings. */
  deferred: number;
  /** Users due but busy now (an XBACKUP in flight): they wait for their end. */
  busy: number;
}

/**
 * Every backup is verified at least every verifyEvery in steady state, spread evenly: each opening takes
 * its share (so 100,000 backups at 30d verify ~3,334 a day, never 100,000 at once, not even when
 * maintenance is first turned on), never-verified ones first (a new backup soon after its first backup),
 * then the longest since verified. A backup is due from verifyEvery less a margin (a day, or half the
 * period when that is shorter), so a daily opening never lets one pass its period.
 */
export function maintenanceQueue(input: MaintenanceInput): MaintenanceQueue {
  const { now, policy } = input;
  const window = windowState(policy.window ?? ALL_DAY, now, input.timeZone);
  const backups = input.users.filter((u) => u.dataFile !== null && u.state !== 'unreadable');
  const share = verificationShare(backups.length, policy.verifyEvery);
  const margin = Math.min(DAY_MS, policy.verifyEvery / 2);
  const openedAt = window.openedAt ?? now;

  const rechecks: MaintenanceJob[] = [];
  const compactions: MaintenanceJob[] = [];
  const rolling: Array<{ job: MaintenanceJob; lastDeepVerify: number | null }> = [];
  let busy = 0;
  for (const user of backups) {
    const memory = input.memory.get(user.userid);
    const subject: BackupSubject = { dataFile: user.dataFile!, chunks: user.chunks ?? 0, dataBytes: user.dataBytes ?? 0 };
    const found = recheckDue(memory, subject, openedAt) ?? compactionDue(user, memory, policy, openedAt) ?? rollingDue(user, memory, now, policy.verifyEvery - margin);
    if (found === null) continue;
    if (input.busy.has(user.userid)) {
      busy++;
      continue;
    }
    const job: MaintenanceJob = { userid: user.userid, reason: found.reason, detail: found.detail, subject, realBackupAt: user.realAge === null ? null : now - user.realAge };
    if (found.reason === 'recheck') rechecks.push(job);
    else if (found.reason === 'compact') compactions.push(job);
    else rolling.push({ job, lastDeepVerify: user.lastDeepVerify });
  }
  compactions.sort((a, b) => b.subject.chunks - a.subject.chunks || byUser(a, b));
  rolling.sort((a, b) => (a.lastDeepVerify ?? -Infinity) - (b.lastDeepVerify ?? -Infinity) || byUser(a.job, b.job));
  const left = Math.max(0, share - input.rollingUsed);
  return {
    window,
    open: window.open,
    jobs: [...rechecks, ...compactions, ...rolling.slice(0, left).map((r) => r.job)],
    share,
    deferred: Math.max(0, rolling.length - left),
    busy,
  };
}

/** Rolling verifications per opening (per local day without a window): backups × one day ÷ verifyEvery, rounded up. */
export function verificationShare(backups: number, verifyEvery: number): number {
  return Math.ceil((backups * Math.min(DAY_MS, verifyEvery)) / verifyEvery);
}

type Due = { reason: MaintenanceReason; detail: string } | null;

/** A backup found damaged is verified again once it changed (moved aside for a new one, reindexed, or added to). */
function recheckDue(memory: MaintenanceMemory | undefined, subject: BackupSubject, openedAt: number): Due {
  const deep = memory?.deepVerify;
  if (!deep || deep.damage === null) return null;
  const was = deep.subject;
  if (was?.dataFile !== subject.dataFile) return { reason: 'recheck', detail: 'a new data file since a verification found the old one damaged' };
  if (was.chunks === subject.chunks && was.dataBytes === subject.dataBytes) return null;
  // Smaller: made again at the same path (its files moved aside, its key kept), or reindexed.
  if (subject.chunks < was.chunks || subject.dataBytes < was.dataBytes) return { reason: 'recheck', detail: 'found damaged, and made again or reindexed since' };
  // Grown, by XBACKUPs (backupd appends after damage it does not see): once per opening, not at every cycle.
  return deep.at >= openedAt ? null : { reason: 'recheck', detail: 'found damaged, and added to since' };
}

function compactionDue(user: UserStatus, memory: MaintenanceMemory | undefined, policy: MaintenancePolicy, openedAt: number): Due {
  // Damaged: compaction would drop what it cannot read, the evidence with it. Unsettled attempts: their chunk ids must stay.
  if (user.state === 'damaged' || memory?.attemptUnsettled) return null;
  const chunks = user.chunks ?? 0;
  const last = memory?.lastCompaction ?? null;
  // One compaction per opening: one that could not bring the chunks under the limit is not repeated all night.
  if (last !== null && last.at >= openedAt) return null;
  if (chunks > policy.compactChunks) {
    // Nothing to compact last time (skipped): not again until that many more chunks came.
    const stuck = last?.outcome === 'skipped' && last.chunks !== null && chunks < last.chunks + policy.compactChunks;
    if (!stuck) return { reason: 'compact', detail: `${chunks} chunks (more than ${policy.compactChunks})` };
  }
  const utilisation = memory?.utilisation ?? null;
  if (policy.compactBelowUtilisation !== null && utilisation !== null && utilisation < policy.compactBelowUtilisation) {
    return { reason: 'compact', detail: `${utilisation}% of its data file in use (below ${policy.compactBelowUtilisation}%)` };
  }
  return null;
}

function rollingDue(user: UserStatus, memory: MaintenanceMemory | undefined, now: number, dueAge: number): Due {
  if (user.lastDeepVerify === null) {
    const replaced = memory?.deepVerify ? ' since its data file was replaced' : '';
    return { reason: 'rolling', detail: `never verified${replaced}` };
  }
  return now - user.lastDeepVerify >= dueAge ? { reason: 'rolling', detail: 'its turn (longest since verified)' } : null;
}

const byUser = (a: { userid: string }, b: { userid: string }): number => (a.userid < b.userid ? -1 : a.userid > b.userid ? 1 : 0);
