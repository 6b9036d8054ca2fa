import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BackupResult } from '../../scheduler/backup-result.js';
import { CYCLE_RESULTS } from '../../scheduler/cycle-result.js';
import type { MaintenanceStatus } from '../../scheduler/maintenance/maintenance-status.js';
import type { StalenessReport } from '../../staleness/report.js';
import { packageVersion } from '../version.js';
import type { AttemptOutcome } from '../../staleness/user-history.js';
import { registerReportGauges } from '../output/report-prometheus.js';
import { fleetReport, serverBreakers, type RunView } from './run-view.js';

/** Seconds: a refreshed user answers in milliseconds, a first backup of a large mailbox can take an hour or more. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 10_800];

/**
 * /metrics of `run`, in Prometheus text. Attempts are counted as they finish; cycles by result and the
 * last success come from the loop, which keeps them in the state database across restarts; the fleet's
 * gauges are set from the latest snapshot when scraped, its ages as of the scrape, and left out until a
 * cycle has looked at the fleet, as the last-success time is until a cycle has succeeded (a 0 would read
 * as 1970). Per-user series only with http.perUserMetrics: one per user is a lot of series for a large
 * fleet. Node's process metrics (process_*, nodejs_*) under prom-client's default names.
 */
export class SchedulerMetrics {
  private readonly always = new Registry();
  private readonly fleet = new Registry();
  private readonly perUser = new Registry();
  private readonly afterSuccess = new Registry();
  /** Only while maintenance is on (maintenance.command set). */
  private readonly maintenance = new Registry();
  readonly contentType = this.always.contentType;

  private readonly attempts = new Counter({
    name: 'xbackup_attempts_total',
    help: 'XBACKUP attempts by IMAP server and outcome',
    labelNames: ['server', 'outcome'],
    registers: [this.always],
  });
  private readonly durations = new Histogram({
    name: 'xbackup_duration_seconds',
    help: "Time from sending XBACKUP to the user's answer; kind is first (bootstrap) or refresh",
    labelNames: ['server', 'kind'],
    buckets: DURATION_BUCKETS,
    registers: [this.always],
  });
  private readonly paused = new Gauge({
    name: 'xbackup_server_paused',
    help: '1 while the IMAP server is paused by its circuit breaker',
    labelNames: ['server'],
    registers: [this.always],
  });
  private readonly setReport = registerReportGauges(this.fleet);
  private readonly bootstrapRemaining = new Gauge({
    name: 'xbackup_bootstrap_remaining_users',
    help: 'Users still waiting for their first backup (state missing)',
    registers: [this.fleet],
  });
  private readonly lastBackup = new Gauge({
    name: 'xbackup_last_backup_timestamp_seconds',
    help: 'When each user was last backed up (http.perUserMetrics)',
    labelNames: ['userid'],
    registers: [this.perUser],
  });
  private readonly cycles = new Counter({
    name: 'xbackup_cycles_total',
    help: 'Scheduler cycles by result: success (its due work done, or none due), failure (due work not done), error (the cycle could not run)',
    labelNames: ['result'],
    registers: [this.always],
  });
  private readonly buildInfo = new Gauge({
    name: 'xbackup_build_info',
    help: 'Always 1: the version of xbackup-scheduler and of Node.js that runs it',
    labelNames: ['version', 'node'],
    registers: [this.always],
  });
  private readonly serverUsers = new Gauge({
    name: 'xbackup_server_users',
    help: 'Users (and %SHARED) discovered on each IMAP server that this backup server is responsible for',
    labelNames: ['server'],
    registers: [this.fleet],
  });
  private readonly serverBytes = new Gauge({
    name: 'xbackup_server_backup_bytes',
    help: "Size of the backup data files of each IMAP server's users, as backupd wrote them (compressed), as of the last scan",
    labelNames: ['server'],
    registers: [this.fleet],
  });
  private readonly maintenanceRuns = new Counter({
    name: 'xbackup_maintenance_runs_total',
    help: 'ctl_backups runs of the maintenance lane by verb (verify, compact, stat) and outcome',
    labelNames: ['verb', 'outcome'],
    registers: [this.maintenance],
  });
  private readonly maintenanceOpen = new Gauge({
    name: 'xbackup_maintenance_window_open',
    help: '1 while maintenance.window is open (always, without a window)',
    registers: [this.maintenance],
  });
  private readonly maintenanceDue = new Gauge({
    name: 'xbackup_maintenance_due',
    help: 'Backups due for maintenance by reason (recheck, compact, rolling), as the lane last computed its queue',
    labelNames: ['reason'],
    registers: [this.maintenance],
  });
  private readonly maintenanceRunning = new Gauge({
    name: 'xbackup_maintenance_running',
    help: 'ctl_backups runs of the maintenance lane under way',
    registers: [this.maintenance],
  });
  private readonly lastSuccess = new Gauge({
    name: 'xbackup_cycle_last_success_timestamp_seconds',
    help: 'When the last successful scheduler cycle ended',
    registers: [this.afterSuccess],
  });

  constructor() {
    this.buildInfo.set({ version: packageVersion(), node: process.version }, 1);
    collectDefaultMetrics({ register: this.always });
  }

  /** Starts the counters at the state database's totals, so they go on across restarts. */
  seedAttempts(counts: ReadonlyArray<{ server: string; outcome: AttemptOutcome; count: number }>): void {
    for (const { server, outcome, count } of counts) this.attempts.inc({ server, outcome }, count);
  }

  recordAttempt(result: BackupResult): void {
    this.attempts.inc({ server: result.server, outcome: result.outcome });
    this.durations.observe({ server: result.server, kind: result.group === null ? 'refresh' : 'first' }, result.seconds);
  }

  async render(view: RunView, now: number): Promise<string> {
    this.paused.reset();
    for (const s of serverBreakers(view)) this.paused.set({ server: s.name }, s.paused ? 1 : 0);
    const { fleet, lastSuccessAt, cycleCounts } = view.loop.status;
    // The loop's totals run on across restarts (the state database keeps them): the counter is set to them.
    this.cycles.reset();
    for (const result of CYCLE_RESULTS) this.cycles.inc({ result }, cycleCounts[result]);
    const registries = [this.always];
    if (fleet) {
      const report = fleetReport(view, fleet, now);
      this.setReport(report);
      this.bootstrapRemaining.set(report.counts.missing);
      this.setPerServer(report, view.config().servers.map((s) => s.name));
      registries.push(this.fleet);
      if (view.config().http.perUserMetrics) {
        this.lastBackup.reset();
        for (const u of report.users) {
          const newest = Math.max(u.lastBackup ?? -Infinity, u.lastVerified ?? -Infinity);
          if (newest !== -Infinity) this.lastBackup.set({ userid: u.userid }, newest / 1000);
        }
        registries.push(this.perUser);
      }
    }
    if (view.loop.status.maintenance) {
      this.setMaintenance(view.loop.status.maintenance);
      registries.push(this.maintenance);
    }
    if (lastSuccessAt !== null) {
      this.lastSuccess.set(lastSuccessAt / 1000);
      registries.push(this.afterSuccess);
    }
    return Registry.merge(registries).metrics();
  }

  /** The lane's totals live in the state database, as the cycles' do: the counter is set to them. */
  private setMaintenance(m: MaintenanceStatus): void {
    this.maintenanceRuns.reset();
    for (const { verb, outcome, runs } of m.totals) this.maintenanceRuns.inc({ verb, outcome }, runs);
    this.maintenanceOpen.set(m.open ? 1 : 0);
    this.maintenanceDue.reset();
    for (const [reason, n] of Object.entries(m.due)) this.maintenanceDue.set({ reason }, n);
    this.maintenanceRunning.set(m.running.length);
  }

  /** Per configured server: the users discovery found there, and the bytes of their backup data files. */
  private setPerServer(report: StalenessReport, servers: readonly string[]): void {
    const users = new Map(servers.map((s) => [s, 0]));
    const bytes = new Map(servers.map((s) => [s, 0]));
    for (const u of report.users) {
      if (u.server === null || !users.has(u.server)) continue;
      users.set(u.server, users.get(u.server)! + 1);
      bytes.set(u.server, bytes.get(u.server)! + (u.dataBytes ?? 0));
    }
    this.serverUsers.reset();
    this.serverBytes.reset();
    for (const server of servers) {
      this.serverUsers.set({ server }, users.get(server)!);
      this.serverBytes.set({ server }, bytes.get(server)!);
    }
  }
}
