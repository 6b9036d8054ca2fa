// The next group of first backups (spec §5): a first backup moves a user's whole mailbox, so
// they go a few users and a few GiB at a time.
import { formatBytes } from '../../units/size.js';
import type { BootstrapLimits, FirstBackupGroup, HeldUser } from './plan-types.js';
import { plural } from '../../text/plural.js';

export interface FirstBackupCandidate {
  userid: string;
  server: string;
  /** Size of the mail on the IMAP server; null when discovery could not tell. */
  sizeBytes: number | null;
}

export interface GroupChoice {
  group: FirstBackupGroup;
  /** The candidates that wait for a later group, in the order they will come. */
  waiting: FirstBackupCandidate[];
  /** Why they wait: the limit the group reached; null when no one waits. */
  whyWaiting: Omit<HeldUser, 'userid'> | null;
}

/** What bootstrap.maxBytesPerWindow leaves in the window's current opening. */
export interface BudgetLeft {
  bytes: number;
  /** Nothing started in this opening yet: a user larger than the whole budget goes alone now rather than never. */
  untouched: boolean;
  /** The hold's words, given what the next user would bring. */
  why: (next: string) => string;
  /** When the budget starts again (ms), or null when not known. */
  resetsAt: number | null;
}

type GroupLimits = Pick<BootstrapLimits, 'groupSize' | 'maxGroupBytes' | 'order'> & { budget?: BudgetLeft | null };

/**
 * Takes candidates in `limits.order` while the group stays within groupSize users, the
 * `roomInCycle` that policy.maxPerCycle leaves after the refreshes, and maxGroupBytes. It stops
 * at the first candidate that does not fit rather than letting a later, smaller one overtake
 * it, so the order is the order users are backed up in; a first candidate larger than
 * maxGroupBytes makes a group of its own. The window's byte budget cuts the group the same way: the
 * user who would take it over waits for the next opening, unless nothing has started in this one yet (a
 * user larger than the whole budget then goes alone, or it would wait for ever). Unknown sizes count as
 * 0. Null when there is no room or no candidate; the group is empty when the budget stops its first user.
 */
export function chooseFirstBackupGroup(candidates: readonly FirstBackupCandidate[], limits: GroupLimits, roomInCycle: number): GroupChoice | null {
  const room = Math.min(limits.groupSize, roomInCycle);
  if (room < 1 || candidates.length === 0) return null;
  const ordered = [...candidates].sort(ORDERS[limits.order]);
  const users: FirstBackupCandidate[] = [];
  let bytes = 0;
  let overBudget = false;
  for (const candidate of ordered) {
    const size = candidate.sizeBytes ?? 0;
    if (users.length === room || (users.length > 0 && bytes + size > limits.maxGroupBytes.value)) break;
    const budget = limits.budget;
    // A used-up budget takes no one, not even a user of unknown size (counted as 0).
    if (budget && (bytes + size > budget.bytes || budget.bytes === 0) && !(users.length === 0 && budget.untouched)) {
      overBudget = true;
      break;
    }
    users.push(candidate);
    bytes += size;
  }
  const waiting = ordered.slice(users.length);
  const next = waiting[0];
  return {
    group: { users: users.map(({ userid, server, sizeBytes }) => ({ userid, server, sizeBytes })), bytes },
    waiting,
    whyWaiting: next === undefined ? null : overBudget ? whyOverBudget(limits.budget!, bytes, next) : whyFull(users, bytes, next, limits, room),
  };
}

function whyOverBudget(budget: BudgetLeft, bytes: number, next: FirstBackupCandidate): Omit<HeldUser, 'userid'> {
  const group = bytes > 0 ? ` and ${formatBytes(bytes)} in this group` : '';
  return {
    reason: 'bootstrap-budget',
    detail: budget.why(`${group}, and ${next.userid} (${formatBytes(next.sizeBytes)}) would take it over`),
    ...(budget.resetsAt !== null && { until: budget.resetsAt }),
  };
}

const bySizeThenName = (direction: 1 | -1) => (a: FirstBackupCandidate, b: FirstBackupCandidate) => {
  // Unknown sizes last either way: "smallest first" is for quick coverage, and an unknown size
  // may be anything.
  if (a.sizeBytes !== b.sizeBytes) {
    if (a.sizeBytes === null) return 1;
    if (b.sizeBytes === null) return -1;
    return direction * (a.sizeBytes - b.sizeBytes);
  }
  return byName(a, b);
};

const byName = (a: FirstBackupCandidate, b: FirstBackupCandidate) => (a.userid < b.userid ? -1 : a.userid > b.userid ? 1 : 0);

const ORDERS: Record<GroupLimits['order'], (a: FirstBackupCandidate, b: FirstBackupCandidate) => number> = {
  smallest: bySizeThenName(1),
  largest: bySizeThenName(-1),
  name: byName,
};

function whyFull(
  users: readonly FirstBackupCandidate[],
  bytes: number,
  next: FirstBackupCandidate,
  limits: GroupLimits,
  room: number,
): Omit<HeldUser, 'userid'> {
  const unknown = users.filter((user) => user.sizeBytes === null).length;
  const unknownNote = unknown > 0 ? `; the size of ${unknown} of its users is unknown and counted as 0` : '';
  if (users.length === room && room < limits.groupSize) {
    return { reason: 'max-per-cycle', detail: `policy.maxPerCycle leaves room for ${plural(room, 'first backup')} after the refreshes, and the group has them` };
  }
  const limit =
    users.length === room
      ? `${plural(room, 'user')} (bootstrap.groupSize ${limits.groupSize})`
      : bytes > limits.maxGroupBytes.value
        ? `${users[0]!.userid} (${formatBytes(bytes)}) is larger than bootstrap.maxGroupBytes ${limits.maxGroupBytes.text} and makes a group of its own`
        : `${formatBytes(bytes)}, and ${next.userid} (${formatBytes(next.sizeBytes)}) would take it over bootstrap.maxGroupBytes ${limits.maxGroupBytes.text}`;
  return { reason: 'bootstrap-group-full', detail: `the next first-backup group is full: ${limit}${unknownNote}` };
}
