import type { Config } from '../../config/load.js';
import type { FleetSnapshot } from '../../scheduler/cycle.js';
import type { SchedulerLoop } from '../../scheduler/scheduler-loop.js';
import type { ServerHealth } from '../../scheduler/state/server-state.js';
import { buildReport, type ReportOptions, type StalenessReport } from '../../staleness/report.js';

/**
 * What the HTTP listener reads from the running scheduler, on request. Getters, because a SIGHUP reload
 * swaps the config and the state database; nothing here scans backups.db or asks an IMAP server.
 */
export interface RunView {
  loop: Pick<SchedulerLoop, 'status' | 'nextCycleAt' | 'scheduleInterval'>;
  config(): Config;
  serverHealth(): ReadonlyMap<string, ServerHealth>;
}

export interface ServerBreaker {
  name: string;
  /** Circuit breaker open: no command goes to this server before pausedUntil. */
  paused: boolean;
  pausedUntil: number | null;
  lastError: string | null;
}

/** The circuit breaker of every configured server (a server removed by a reload is left out). */
export function serverBreakers(view: RunView, now: number): ServerBreaker[] {
  const health = view.serverHealth();
  return view.config().servers.map(({ name }) => {
    const h = health.get(name);
    const pausedUntil = h?.pausedUntil ?? null;
    return { name, paused: pausedUntil !== null && pausedUntil > now, pausedUntil, lastError: h?.lastError ?? null };
  });
}

/** The report model of the latest snapshot: ages and generatedAt are as of its classification. */
export function fleetReport(fleet: FleetSnapshot, options: ReportOptions = {}): StalenessReport {
  return buildReport(fleet.classification, { now: fleet.at, maxAge: fleet.maxAge, notes: fleet.notes }, options);
}
