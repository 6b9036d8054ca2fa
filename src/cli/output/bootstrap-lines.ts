import type { FirstBackupGroup, HeldUser } from '../../scheduler/plan/plan-types.js';
import type { BootstrapTally } from '../../scheduler/bootstrap-run.js';
import { plural } from '../../text/plural.js';
import { formatBytes } from '../../units/size.js';
import { backupSummaryJson } from './backup-result-lines.js';

/** `bootstrap --dry-run`: the groups, in the order they would run. */
export function bootstrapDryRun(groups: readonly FirstBackupGroup[], json: boolean): string {
  if (json) return groups.map((g, i) => `${JSON.stringify({ group: i + 1, users: g.users.map((u) => u.userid), bytes: g.bytes })}\n`).join('');
  const lines = groups.map((g, i) => `group ${i + 1} (${formatBytes(g.bytes)}): ${g.users.map((u) => `${u.userid}@${u.server}`).join(', ')}\n`);
  return `${lines.join('')}${plural(groups.reduce((n, g) => n + g.users.length, 0), 'user')} in ${plural(groups.length, 'group')}\n`;
}

/** A group starting, without the progress bar (not a terminal). */
export function bootstrapGroupLine(group: FirstBackupGroup, missing: number): string {
  return `group of ${group.users.length} (${formatBytes(group.bytes)}): ${group.users.map((u) => u.userid).join(', ')}; ${plural(missing, 'user')} never backed up\n`;
}

export function bootstrapWaitLine(why: string, until: number): string {
  return `waiting until ${new Date(until).toISOString()}: ${why}\n`;
}

/** On stderr: users the run did not reach, and why. */
export function leftOverLine(held: HeldUser): string {
  return `left for later: ${held.userid}: ${held.reason}: ${held.detail}\n`;
}

export function bootstrapSummary({ ok, failed, leftOver }: BootstrapTally, json: boolean): string {
  return json ? backupSummaryJson({ ok, failed }) : `bootstrap: ${ok} ok, ${failed} failed, ${leftOver} left for later\n`;
}
