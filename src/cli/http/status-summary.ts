import type { FleetSnapshot } from '../../scheduler/cycle.js';
import { ageBuckets } from '../../staleness/age-buckets.js';
import { isoOrNull } from '../../units/time.js';
import { fleetBehindSentence } from '../output/fleet-behind.js';
import { fleetDeepVerifySentence } from '../output/fleet-deep-verify.js';
import { maintenanceToJson } from '../output/maintenance-json.js';
import { deepVerifyToJson, userToJson } from '../output/report-json.js';
import type { Health } from './health.js';
import { fleetReport, serverBreakers, type RunView } from './run-view.js';
import { windowsPart } from './status-windows.js';

const STALEST_SHOWN = 8;
const PROBLEMS_SHOWN = 10;
/** The problems listed, the most urgent state first (damaged is CRITICAL in the Nagios check); within a state, as the report sorts. */
const PROBLEM_STATES = ['damaged', 'failing', 'unreadable', 'conflict'];

/**
 * /status/summary: what the status page draws, small whatever the fleet's size (the page refreshes it
 * every few seconds; /status has every user). Not a stable shape like §3.1: it follows the page.
 */
export function statusSummary(view: RunView, health: Health, now: number): object {
  const { status } = view.loop;
  return {
    now: new Date(now).toISOString(),
    health,
    scheduler: {
      startedAt: new Date(status.startedAt).toISOString(),
      schedule: view.config().policy.schedule,
      runningSince: isoOrNull(status.runningSince),
      lastSuccessAt: isoOrNull(status.lastSuccessAt),
      nextCycleAt: isoOrNull(view.loop.nextCycleAt()),
      cycles: status.recentCycles.map((c) => ({
        why: c.why,
        startedAt: new Date(c.startedAt).toISOString(),
        seconds: (c.endedAt - c.startedAt) / 1000,
        attempted: c.attempted,
        failed: c.failed,
        result: c.result,
        because: c.because,
        error: c.error,
      })),
    },
    servers: serverBreakers(view).map((s) => ({ ...s, pausedUntil: isoOrNull(s.pausedUntil) })),
    pacing: windowsPart(view, now),
    fleet: status.fleet && fleetPart(view, status.fleet, now),
    maintenance: status.maintenance && maintenanceToJson(status.maintenance),
  };
}

function fleetPart(view: RunView, fleet: FleetSnapshot, now: number): object {
  const report = fleetReport(view, fleet, now);
  // Orphans are never backed up by us, so their age says nothing about our work (as in report.ages).
  const ours = report.users.filter((u) => u.state !== 'orphan');
  const problems = PROBLEM_STATES.flatMap((state) => report.users.filter((u) => u.state === state));
  // A backup dated in the future is a backup (stale, with no age to count).
  const backedUp = ours.filter((u) => u.age !== null || u.state === 'stale').length;
  const orphans = report.users.filter((u) => u.state === 'orphan' && u.age !== null).length;
  const buckets = ageBuckets(report);
  const inBuckets = buckets.reduce((n, b) => n + b.users, 0);
  return {
    generatedAt: new Date(report.generatedAt).toISOString(),
    classifiedAt: new Date(report.classifiedAt).toISOString(),
    maxAgeSeconds: Math.floor(report.maxAge / 1000),
    discovery: report.coverage,
    notes: report.notes,
    counts: report.counts,
    totalUsers: report.totalUsers,
    behind: report.behind,
    compared: report.compared,
    behindSentence: fleetBehindSentence(report),
    deepVerify: deepVerifyToJson(report.deepVerify),
    deepVerifySentence: fleetDeepVerifySentence(report),
    ageBuckets: buckets,
    ageBucketsNote: bucketsNote(report.totalUsers, inBuckets, orphans, report.undated),
    stalest: ours.filter((u) => u.age !== null).slice(0, STALEST_SHOWN).map(userToJson),
    problems: problems.slice(0, PROBLEMS_SHOWN).map(userToJson),
    problemsTotal: problems.length,
    bootstrap: {
      missing: report.counts.missing,
      backedUp,
      users: ours.length,
      // Without a backup but not waiting for a first one: failing, unreadable or in conflict.
      withoutBackupOtherwise: ours.length - backedUp - report.counts.missing,
      nextGroupAt: isoOrNull(view.loop.status.nextGroupAt),
    },
  };
}

/** What the histogram leaves out of the header's total, said rather than silently dropped. */
function bucketsNote(total: number, shown: number, orphans: number, undated: number): string {
  if (shown === total) return `all ${total} users`;
  const left = [
    ...(orphans > 0 ? [`${orphans} ${orphans === 1 ? 'orphan' : 'orphans'} (never backed up by us)`] : []),
    ...(undated > 0 ? [`${undated} with a backup dated in the future (no age to show)`] : []),
  ];
  return `${shown} of ${total} users; left out: ${left.join(', ')}`;
}
