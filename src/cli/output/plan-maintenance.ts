// `plan`'s maintenance part: the window, this opening's share, and who is due for what, in order.
import type { QueueNow } from '../../scheduler/maintenance/queue-now.js';
import { plural } from '../../text/plural.js';
import { isoTime } from '../../units/time.js';

/** The first jobs listed by name; the rest are counted. */
const LISTED = 20;

export interface PlanMaintenance {
  window: string | null;
  queue: QueueNow;
}

const VERB = { recheck: 'verify again', compact: 'verify, then compact', rolling: 'verify' } as const;

export function planMaintenanceLines({ window, queue }: PlanMaintenance): string[] {
  const when = window === null ? 'maintenance.window unset: at any time' : queue.open ? `maintenance.window ${window} open until ${isoTime(queue.window.closesAt!)}` : `maintenance.window ${window} closed, opens at ${isoTime(queue.window.opensAt!)}`;
  const out = [`maintenance (${when}):`];
  const count = (reason: keyof typeof VERB) => queue.jobs.filter((j) => j.reason === reason).length;
  out.push(
    `  due: ${plural(count('recheck'), 'damaged backup')} to verify again, ${plural(count('compact'), 'compaction')}, ${plural(count('rolling'), 'rolling verification')} ` +
      `(this opening's share ${queue.share}, ${queue.rollingUsed} used${queue.deferred > 0 ? `; ${plural(queue.deferred, 'more backup')} wait for later openings` : ''})`,
  );
  for (const job of queue.jobs.slice(0, LISTED)) out.push(`  ${VERB[job.reason]} ${job.userid}: ${job.detail}`);
  if (queue.jobs.length > LISTED) out.push(`  … and ${queue.jobs.length - LISTED} more`);
  return out;
}

/** For `plan --json`: times as ISO text, like generatedAt. */
export function planMaintenanceJson({ window, queue }: PlanMaintenance): object {
  const iso = (t: number | null) => (t === null ? null : isoTime(t));
  return {
    window,
    open: queue.open,
    opensAt: iso(queue.window.opensAt),
    closesAt: iso(queue.window.closesAt),
    share: queue.share,
    rollingUsed: queue.rollingUsed,
    deferred: queue.deferred,
    jobs: queue.jobs.map(({ userid, reason, detail }) => ({ userid, reason, detail })),
  };
}
