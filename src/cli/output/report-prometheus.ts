import { Gauge, Registry } from 'prom-client';
import type { StalenessReport } from '../../staleness/report.js';
import { USER_STATES } from '../../staleness/user-state.js';

/** For node_exporter's textfile collector: the same names the scheduler's /metrics uses. */
export async function writeReportPrometheus(report: StalenessReport): Promise<string> {
  const registry = new Registry();
  const users = new Gauge({ name: 'xbackup_users', help: 'Users by backup state', labelNames: ['state'], registers: [registry] });
  for (const state of USER_STATES) users.set({ state }, report.counts[state]);
  new Gauge({ name: 'xbackup_oldest_backup_age_seconds', help: 'Age of the oldest backup among users that have one', registers: [registry] }).set(
    report.oldest?.age === null || report.oldest === null ? 0 : Math.max(0, report.oldest.age / 1000),
  );
  new Gauge({ name: 'xbackup_max_age_seconds', help: 'policy.maxAge: older backups are stale', registers: [registry] }).set(report.maxAge / 1000);
  new Gauge({ name: 'xbackup_discovery_complete', help: '1 when every IMAP server was asked for its users', registers: [registry] }).set(
    report.coverage === 'complete' ? 1 : 0,
  );
  new Gauge({ name: 'xbackup_report_generated_timestamp_seconds', help: 'When this report was made', registers: [registry] }).set(report.generatedAt / 1000);
  return registry.metrics();
}
