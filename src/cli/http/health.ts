import type { LoopStatus } from '../../scheduler/scheduler-loop.js';
import { formatAge } from '../../units/duration.js';
import type { ServerBreaker } from './run-view.js';

/** Missed schedules before the scheduler counts as stuck: one slow or failed cycle is not an outage. */
const MISSED_SCHEDULES = 3;

export interface Health {
  healthy: boolean;
  /** Why not, one line each; empty when healthy. */
  reasons: string[];
}

/**
 * /healthz: unhealthy when no cycle has succeeded (cycle-result.ts: its due work done) for more than three
 * schedules (measured from the start until the first one, this run's or one the state database remembers),
 * or while an IMAP server is paused by its circuit breaker (until a probe succeeds).
 * /healthz answers without the token, so its reasons name servers and times only: an error text can
 * hold a userid or an XBACKUP mailbox pattern. The status page and the log show the errors.
 */
export function judgeHealth(input: { now: number; status: LoopStatus; scheduleInterval: number | null; servers: readonly ServerBreaker[] }): Health {
  const { now, status, scheduleInterval } = input;
  const reasons: string[] = [];
  const since = status.lastSuccessAt ?? status.startedAt;
  if (scheduleInterval !== null && now - since > MISSED_SCHEDULES * scheduleInterval) {
    const limit = `more than ${MISSED_SCHEDULES} schedules of ${formatAge(scheduleInterval)}`;
    const what = status.lastSuccessAt === null ? `no cycle has succeeded since the start ${formatAge(now - since)} ago` : `the last successful cycle ended ${formatAge(now - since)} ago`;
    const last = status.recentCycles[0];
    const detail =
      status.runningSince !== null
        ? `; a cycle has been running for ${formatAge(now - status.runningSince)}`
        : last?.result === 'error'
          ? '; the last cycle could not run (the log and the status page say why)'
          : last?.result === 'failure'
            ? `; the last cycle left due work undone: ${last.because.join('; ')}`
            : '';
    reasons.push(`${what}, ${limit}${detail}`);
  }
  for (const s of input.servers.filter((b) => b.paused)) {
    const next = s.pausedUntil !== null && s.pausedUntil > now ? `the next probe after ${new Date(s.pausedUntil).toISOString()}` : 'probed again with the next cycle that has work for it';
    reasons.push(`${s.name} is paused by its circuit breaker until a probe succeeds: ${next} (the log and the status page say why)`);
  }
  return { healthy: reasons.length === 0, reasons };
}
