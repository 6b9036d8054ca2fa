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
  const notInBackup = new Gauge({ name: 'xbackup_messages_not_in_backup', help: 'Messages in the live mailboxes, as last read, that their backups lack', registers });
  const usersBehind = new Gauge({ name: 'xbackup_users_behind', help: 'Users whose backups lack changes of their live mailboxes, as last read', registers });
  const compared = new Gauge({ name: 'xbackup_users_compared', help: 'Users whose backups were compared with their live mailboxes (the rest: by age alone)', registers });
  const backups = new Gauge({ name: 'xbackup_backups', help: 'Backups on the backup server (users with a data file, orphans too)', registers });
  const oldestDeep = new Gauge({
    name: 'xbackup_oldest_deep_verify_age_seconds',
    help: "Time since the least recently deep-verified backup was verified by ctl_backups verify (0 while none was); backups never verified: xbackup_backups_never_deep_verified",
    registers,
  });
  const verifyEvery = new Gauge({ name: 'xbackup_deep_verify_every_seconds', help: 'maintenance.verifyEvery: every backup is to be deep-verified at least this often', registers });
  const neverDeep = new Gauge({ name: 'xbackup_backups_never_deep_verified', help: 'Backups ctl_backups verify never went over (or not since their data file was replaced)', registers });
  const recentDeep = new Gauge({ name: 'xbackup_backups_deep_verified_recently', help: 'Backups ctl_backups verify went over within maintenance.verifyEvery', registers });
  return (report) => {
    for (const state of USER_STATES) users.set({ state }, report.counts[state]);
    oldest.set(report.oldest?.age === null || report.oldest === null ? 0 : Math.max(0, report.oldest.age / 1000));
    maxAge.set(report.maxAge / 1000);
    discovery.set(report.coverage === 'complete' ? 1 : 0);
    generated.set(report.classifiedAt / 1000);
    notInBackup.set(report.behind.messages);
    usersBehind.set(report.behind.users);
    compared.set(report.compared);
    const deep = report.deepVerify;
    backups.set(deep.backups);
    // As the oldest backup age: 0 when there is none, so that the series never vanishes from a dashboard.
    oldestDeep.set(deep.oldestAt === null ? 0 : Math.max(0, (report.generatedAt - deep.oldestAt) / 1000));
    verifyEvery.set(deep.recentMs / 1000);
    neverDeep.set(deep.never);
    recentDeep.set(deep.recent);
  };
}

/** For node_exporter's textfile collector. */
export async function writeReportPrometheus(report: StalenessReport): Promise<string> {
  const registry = new Registry();
  registerReportGauges(registry)(report);
  return registry.metrics();
}
