import { Gauge, Registry } from 'prom-client';
import type { StalenessReport } from '../../staleness/report.js';
import { USER_STATES } from '../../staleness/user-state.js';

/**
 * The report's gauges in `registry`, under the names both `report --format prometheus` and the
 * scheduler's /metrics use; returns the function that sets them from a report.
 */
export function registerReportGauges(registry: Registry): (report: StalenessReport) => void {
  const registers = [registry];
  const users = new Gauge({ name: 'xbackup_users', help: 'Users by backup state', labelNames: ['state'], registers });
  const oldest = new Gauge({ name: 'xbackup_oldest_backup_age_seconds', help: 'Age of the oldest backup among users that have one', registers });
  const maxAge = new Gauge({ name: 'xbackup_max_age_seconds', help: 'policy.maxAge: older backups are stale', registers });
  const discovery = new Gauge({ name: 'xbackup_discovery_complete', help: '1 when every IMAP server was asked for its users', registers });
  const generated = new Gauge({ name: 'xbackup_report_generated_timestamp_seconds', help: 'When the users were classified', registers });
  return (report) => {
    for (const state of USER_STATES) users.set({ state }, report.counts[state]);
    oldest.set(report.oldest?.age === null || report.oldest === null ? 0 : Math.max(0, report.oldest.age / 1000));
    maxAge.set(report.maxAge / 1000);
    discovery.set(report.coverage === 'complete' ? 1 : 0);
    generated.set(report.generatedAt / 1000);
  };
}

/** For node_exporter's textfile collector. */
export async function writeReportPrometheus(report: StalenessReport): Promise<string> {
  const registry = new Registry();
  registerReportGauges(registry)(report);
  return registry.metrics();
}
