import { planMaintenanceJson, planMaintenanceLines, type PlanMaintenance } from './plan-maintenance.js';
import type { CyclePlan } from '../../scheduler/plan/plan-types.js';
import { formatAge } from '../../units/duration.js';
import { formatBytes } from '../../units/size.js';
import { plural } from '../../text/plural.js';
import { isoTime } from '../../units/time.js';

export function writePlanText(plan: CyclePlan, now: number, maintenance: PlanMaintenance | null = null): string {
  const out: string[] = [];
  out.push(`${plural(plan.planned.length, 'user')} would be backed up now, in this order:`);
  for (const p of plan.planned) out.push(`  ${p.kind === 'first' ? 'first  ' : 'refresh'} ${p.userid} on ${p.server}: ${p.state}, ${p.age === null ? 'never backed up' : `${formatAge(p.age)} old`}`);
  if (plan.refreshes.length > 0) {
    out.push('', `${plan.refreshes.length} XBACKUP commands for the refreshes:`);
    for (const c of plan.refreshes) out.push(`  ${c.server}: XBACKUP ${c.pattern}  (${plural(c.userids.length, 'user')})`);
  }
  if (plan.firstGroup) {
    out.push('', `first-backup group: ${plural(plan.firstGroup.users.length, 'user')}, ${formatBytes(plan.firstGroup.bytes)} known`);
  }
  if (plan.held.length > 0) {
    out.push('', `${plural(plan.held.length, 'user')} held back:`);
    for (const h of plan.held) out.push(`  ${h.userid}: ${h.reason}: ${h.detail}`);
  }
  if (maintenance) out.push('', ...planMaintenanceLines(maintenance));
  out.push('', `planned at ${new Date(now).toISOString()}`);
  return `${out.join('\n')}\n`;
}

export function writePlanJson(plan: CyclePlan, now: number, maintenance: PlanMaintenance | null = null): string {
  // A window or budget hold says when it ends, as a time like generatedAt.
  const held = plan.held.map(({ until, ...h }) => (until === undefined ? h : { ...h, until: isoTime(until) }));
  return `${JSON.stringify({ generatedAt: new Date(now).toISOString(), ...plan, held, ...(maintenance && { maintenance: planMaintenanceJson(maintenance) }) })}\n`;
}
