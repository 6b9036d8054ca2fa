import type { BootstrapOpening, BootstrapPreview } from '../../scheduler/plan/bootstrap-preview.js';
import type { FirstBackupGroup, HeldUser } from '../../scheduler/plan/plan-types.js';
import { localWhen, type DailyWindow } from '../../units/daily-window.js';
import type { Setting } from '../../units/setting.js';
import { isoTime } from '../../units/time.js';
import type { BootstrapTally } from '../../scheduler/bootstrap-run.js';
import { plural } from '../../text/plural.js';
import { formatBytes } from '../../units/size.js';
import { backupSummaryJson } from './backup-result-lines.js';

/**
 * `bootstrap --dry-run`: the groups, in the order they would run. With bootstrap.window, whether it is open
 * now and when it opens; with bootstrap.maxBytesPerWindow, which groups its budget allows in the current
 * (or next) opening and which wait for later ones. Without either, the groups alone.
 */
export function bootstrapDryRun(preview: BootstrapPreview, limits: DryRunLimits, json: boolean): string {
  const { now, timeZone } = preview;
  const groups = preview.openings.flatMap((o) => o.groups.map((g) => ({ ...g, notBefore: o.current ? null : o.from })));
  if (json) {
    return groups.map((g, i) => `${JSON.stringify({ group: i + 1, users: g.users.map((u) => u.userid), bytes: g.bytes, notBefore: g.notBefore === null ? null : isoTime(g.notBefore) })}\n`).join('');
  }
  const out: string[] = [];
  const { window, budget } = limits;
  if (window !== null && preview.window !== null) {
    const state = preview.window;
    out.push(
      state.open
        ? `bootstrap.window ${window.text} is open now, until ${localWhen(state.closesAt!, now, timeZone)}`
        : `bootstrap.window ${window.text} is closed now: no first backup starts before it opens at ${localWhen(state.opensAt!, now, timeZone)}`,
    );
  }
  let n = 0;
  for (const opening of preview.openings) {
    if (budget !== null) out.push(openingHeader(opening, limits, preview));
    for (const g of opening.groups) out.push(`group ${++n} (${formatBytes(g.bytes)}): ${g.users.map((u) => `${u.userid}@${u.server}`).join(', ')}`);
  }
  // The first opening is the one the clock is in, or the next when the window is closed; the budget sends groups past it.
  const later = preview.openings.slice(1).filter((o) => o.groups.length > 0);
  const sent = later.reduce((sum, o) => sum + o.groups.length, 0);
  const spread = budget !== null && sent > 0 ? `; bootstrap.maxBytesPerWindow ${budget.text} leaves ${plural(sent, 'group')} for ${plural(later.length, 'later opening')}` : '';
  out.push(`${plural(groups.reduce((sum, g) => sum + g.users.length, 0), 'user')} in ${plural(groups.length, 'group')}${spread}`);
  return `${out.join('\n')}\n`;
}

/** The keys the dry run says back. */
export interface DryRunLimits {
  window: DailyWindow | null;
  budget: Setting | null;
}

function openingHeader(opening: BootstrapOpening, { window, budget }: DryRunLimits, { now, timeZone }: BootstrapPreview): string {
  const when =
    window === null
      ? opening.current
        ? 'today (without bootstrap.window, bootstrap.maxBytesPerWindow counts from local midnight)'
        : `from ${localWhen(opening.from, now, timeZone)}`
      : opening.current
        ? `now, while bootstrap.window is open`
        : `when bootstrap.window opens at ${localWhen(opening.from, now, timeZone)}`;
  if (budget === null) return `${when}:`;
  const whole = opening.budgetBytes === budget.value;
  const left = whole ? `bootstrap.maxBytesPerWindow ${budget.text}` : `${formatBytes(opening.budgetBytes)} left of bootstrap.maxBytesPerWindow ${budget.text}`;
  return opening.groups.length === 0 ? `${when}: no group, ${left}` : `${when}, ${left}:`;
}

/** A group starting, without the progress bar (not a terminal). */
export function bootstrapGroupLine(group: FirstBackupGroup, missing: number): string {
  return `group of ${group.users.length} (${formatBytes(group.bytes)}): ${group.users.map((u) => u.userid).join(', ')}; ${plural(missing, 'user')} never backed up\n`;
}

export function bootstrapWaitLine(why: string, until: number): string {
  return `waiting until ${new Date(until).toISOString()}: ${why}\n`;
}

/**
 * On stderr: users the run did not reach, and why; users held for the same reason in the same words (a
 * closed bootstrap.window, a used-up budget) on one line, so a closed window is one clear sentence.
 */
export function leftOverLines(held: readonly HeldUser[]): string {
  const byWhy = new Map<string, HeldUser[]>();
  for (const h of held) {
    const why = `${h.reason}: ${h.detail}`;
    const users = byWhy.get(why) ?? [];
    users.push(h);
    byWhy.set(why, users);
  }
  return [...byWhy]
    .map(([why, users]) => `left for later: ${users.length === 1 ? users[0]!.userid : `${plural(users.length, 'user')} (${listed(users.map((u) => u.userid))})`}: ${why}\n`)
    .join('');
}

const LISTED = 10;

function listed(userids: readonly string[]): string {
  return userids.length <= LISTED ? userids.join(', ') : `${userids.slice(0, LISTED).join(', ')} and ${userids.length - LISTED} more`;
}

export function bootstrapSummary({ ok, failed, leftOver }: BootstrapTally, json: boolean): string {
  return json ? backupSummaryJson({ ok, failed }) : `bootstrap: ${ok} ok, ${failed} failed, ${leftOver} left for later\n`;
}
