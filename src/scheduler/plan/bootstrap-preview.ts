// `bootstrap --dry-run` (spec §5): every group a bootstrap would make, in order, and the opening of
// bootstrap.window each may start in, by the same group and budget rules the planner applies.
import { windowState, type WindowState } from '../../units/daily-window.js';
import { chooseFirstBackupGroup, type FirstBackupCandidate } from './bootstrap-group.js';
import { budgetLeft } from './plan-cycle.js';
import type { BootstrapLimits, FirstBackupGroup } from './plan-types.js';

export interface BootstrapOpening {
  /** When its first group may start (ms): `now` for the opening the clock is in (or without a window). */
  from: number;
  /** It is the opening the clock is in now. */
  current: boolean;
  /** What bootstrap.maxBytesPerWindow leaves in it before its first group (the current one: after what already started in it); null: no budget. */
  budgetBytes: number | null;
  groups: FirstBackupGroup[];
}

export interface BootstrapPreview {
  /** The time it was made for (ms). */
  now: number;
  /** The zone its windows were read in (IANA); undefined: the process's own. */
  timeZone: string | undefined;
  /** bootstrap.window as it is now; null without one. */
  window: WindowState | null;
  /** In order; several only when the budget sends groups to later openings. The current one may have no group (budget used up). */
  openings: BootstrapOpening[];
}

type PreviewLimits = Pick<BootstrapLimits, 'groupSize' | 'maxGroupBytes' | 'order' | 'window' | 'budget'>;

/**
 * The groups in the order a bootstrap (or `run`) takes them: each is the next chooseFirstBackupGroup
 * makes, with what the budget leaves in its opening; the group the budget stops goes to the next
 * opening, where the budget is whole again. A closed window puts the first opening at its next start.
 * How long groups take is not known, so an opening's groups are what its budget allows, not a promise
 * that they all start before the window closes.
 */
export function previewBootstrap(candidates: readonly FirstBackupCandidate[], limits: PreviewLimits, now: number, timeZone?: string): BootstrapPreview {
  const window = limits.window === null ? null : windowState(limits.window, now, timeZone);
  const closed = window !== null && !window.open;
  // A closed window's next opening has used nothing yet.
  let used = closed ? 0 : (limits.budget?.usedBytes ?? 0);
  let opening: BootstrapOpening = { from: closed ? window.opensAt! : now, current: !closed, budgetBytes: null, groups: [] };
  const openings = [opening];
  let waiting = candidates;
  while (waiting.length > 0) {
    const budget = budgetLeft({ bootstrap: { window: limits.window, budget: limits.budget && { ...limits.budget, usedBytes: used } }, now: opening.from, timeZone });
    if (opening.groups.length === 0) opening.budgetBytes = budget?.bytes ?? null;
    const choice = chooseFirstBackupGroup(waiting, { ...limits, budget }, limits.groupSize);
    if (choice === null) break;
    if (choice.group.users.length > 0) {
      opening.groups.push(choice.group);
      used += choice.group.bytes;
      waiting = choice.waiting;
      continue;
    }
    // Only the budget leaves a group empty; an untouched opening always takes its first user, so this ends.
    if (budget?.resetsAt == null) break;
    opening = { from: budget.resetsAt, current: false, budgetBytes: null, groups: [] };
    openings.push(opening);
    used = 0;
  }
  return { now, timeZone, window, openings };
}
