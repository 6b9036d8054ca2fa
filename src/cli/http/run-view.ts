import type { Config } from '../../config/load.js';
import type { FleetSnapshot } from '../../scheduler/cycle.js';
import type { SchedulerLoop } from '../../scheduler/scheduler-loop.js';
import { breakerOpen } from '../../scheduler/plan/settle-attempt.js';
import type { ServerHealth } from '../../scheduler/state/server-state.js';
import { classificationAt } from '../../staleness/as-of.js';
import { buildReport, type ReportOptions, type StalenessReport } from '../../staleness/report.js';

/**
 * What the HTTP listener reads from the running scheduler, on request. Getters, because a SIGHUP reload
 * swaps the config and the state database; nothing here scans backups.db or asks an IMAP server.
 */
export interface RunView {
  loop: Pick<SchedulerLoop, 'status' | 'nextCycleAt' | 'scheduleInterval'>;
  config(): Config;
  serverHealth(): ReadonlyMap<string, ServerHealth>;
  /** The first-backup bytes of bootstrap.window's current opening (state/bootstrap-groups.ts). */
  bootstrapBytesThisWindow(now: number): number;
}

export interface ServerBreaker {
  name: string;
  /** Circuit breaker open: it stays so until a probe succeeds (breakerOpen), whatever pausedUntil says. */
  paused: boolean;
  /** When the next probe may go (ms); past, it goes with the next cycle that has work for the server. */
  pausedUntil: number | null;
  lastError: string | null;
}

/** The circuit breaker of every configured server (a server removed by a reload is left out). */
export function serverBreakers(view: RunView): ServerBreaker[] {
  const health = view.serverHealth();
  return view.config().servers.map(({ name }) => {
    const h = health.get(name);
    const paused = breakerOpen(h);
    return { name, paused, pausedUntil: paused ? (h?.pausedUntil ?? null) : null, lastError: paused ? (h?.lastError ?? null) : null };
  });
}

/**
 * The report model of the latest snapshot, its ages as of `now` (as-of.ts), its states as the cycle decided
 * them; "recently deep-verified" is within maintenance.verifyEvery as configured now.
 */
export function fleetReport(view: RunView, fleet: FleetSnapshot, now: number, options: ReportOptions = {}): StalenessReport {
  const classification = classificationAt(fleet.classification, fleet.at, now, fleet.maxAge);
  const context = { now: Math.max(now, fleet.at), maxAge: fleet.maxAge, notes: fleet.notes, classifiedAt: fleet.at, verifyEvery: view.config().maintenance.verifyEvery };
  return buildReport(classification, context, options);
}
