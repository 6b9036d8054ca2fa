import type { StalenessReport } from '../../staleness/report.js';
import { USER_STATES } from '../../staleness/user-state.js';
import { formatAge } from '../../units/duration.js';
import { plural } from '../../text/plural.js';

export interface NagiosThresholds {
  warnAge: number;
  critAge: number;
  /** Messages not yet in any backup, fleet-wide, from which the check warns / is critical; unset: never. */
  warnMessages?: number | undefined;
  critMessages?: number | undefined;
  /** IMAP servers that could not be asked for their users: their users are not known, nor backed up. */
  unaskedServers?: readonly string[];
}

/** Nagios plugin exit codes. */
const STATUS = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
type Status = keyof typeof STATUS;

/**
 * One status line with perfdata, and the plugin exit code. CRITICAL: a backup older than critAge, a
 * failing user, or at least critMessages messages not yet in the backups. WARNING: older than warnAge, an
 * unreadable backup, a user on two servers, an IMAP server that could not be asked for its users, or at
 * least warnMessages messages not yet backed up. Missing users (a bootstrap in progress) and orphans (not ours to
 * back up) only show in the text and the perfdata.
 */
export function writeReportNagios(report: StalenessReport, thresholds: NagiosThresholds): { text: string; exitCode: number } {
  const c = report.counts;
  const olderThan = (limit: number) => report.ages.filter((age) => age >= limit).length;
  const crit = olderThan(thresholds.critAge);
  const warn = olderThan(thresholds.warnAge);
  const problems: string[] = [];
  let status: Status = 'OK';
  const raise = (to: Status, why: string) => {
    problems.push(why);
    if (STATUS[to] > STATUS[status]) status = to;
  };
  if (crit > 0) raise('CRITICAL', `${plural(crit, 'backup')} older than ${formatAge(thresholds.critAge)}`);
  else if (warn > 0) raise('WARNING', `${plural(warn, 'backup')} older than ${formatAge(thresholds.warnAge)}`);
  const atRisk = report.behind.messages;
  if (thresholds.critMessages !== undefined && atRisk >= thresholds.critMessages) raise('CRITICAL', `${plural(atRisk, 'message')} not yet in the backup`);
  else if (thresholds.warnMessages !== undefined && atRisk >= thresholds.warnMessages) raise('WARNING', `${plural(atRisk, 'message')} not yet in the backup`);
  if (report.undated > 0) raise('WARNING', `${plural(report.undated, 'backup')} dated in the future (not believed)`);
  if (c.failing > 0) raise('CRITICAL', `${c.failing} failing`);
  if (c.unreadable > 0) raise('WARNING', `${c.unreadable} unreadable`);
  if (c.conflict > 0) raise('WARNING', `${c.conflict} on two servers`);
  const unasked = thresholds.unaskedServers ?? [];
  if (unasked.length > 0) raise('WARNING', `could not ask ${unasked.join(', ')} for ${unasked.length === 1 ? 'its' : 'their'} users`);
  if (c.missing > 0) problems.push(`${c.missing} never backed up`);
  const oldest = report.oldest ? `oldest ${formatAge(report.oldest.age)} (${report.oldest.userid})` : 'no backups yet';
  const summary = problems.length > 0 ? `${problems.join(', ')}; ${oldest}` : `${plural(report.totalUsers, 'user')}, ${oldest}`;
  const perf = [
    ...USER_STATES.map((s) => `${s}=${c[s]}`),
    `oldest_age=${Math.floor((report.oldest?.age ?? 0) / 1000)}s;${Math.floor(thresholds.warnAge / 1000)};${Math.floor(thresholds.critAge / 1000)};0`,
    `messages_not_in_backup=${atRisk};${thresholds.warnMessages ?? ''};${thresholds.critMessages ?? ''};0`,
    `users_behind=${report.behind.users}`,
  ].join(' ');
  return { text: `XBACKUP ${status} - ${summary} | ${perf}\n`, exitCode: STATUS[status] };
}

export function nagiosUnknown(reason: string): { text: string; exitCode: number } {
  return { text: `XBACKUP UNKNOWN - ${reason.split('\n')[0]}\n`, exitCode: STATUS.UNKNOWN };
}
