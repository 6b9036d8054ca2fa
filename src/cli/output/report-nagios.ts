// `report --format nagios`: a monitoring plugin (Nagios plugin guidelines): one line on stdout, the status
// as the exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). Every Nagios rule is here: the thresholds and
// their defaults, the options that make no sense with it, the whole-check timeout, what raises the
// status, and the UNKNOWN that any error before a verdict becomes.
import { CommanderError } from 'commander';
import type { StalenessReport } from '../../staleness/report.js';
import { damagedFinding } from '../../staleness/damaged-text.js';
import { USER_STATES } from '../../staleness/user-state.js';
import { formatAge } from '../../units/duration.js';
import { plural } from '../../text/plural.js';
import { UsageError } from '../usage-error.js';
import type { MonitoringCheck, ThresholdOptions } from './report-formats.js';

export interface NagiosThresholds {
  warnAge: number;
  critAge: number;
  /** Messages not yet in any backup, fleet-wide, from which the check warns / is critical; unset: never. */
  warnMessages?: number | undefined;
  critMessages?: number | undefined;
  /** IMAP servers that could not be asked for their users: their users are not known, nor backed up. */
  unaskedServers?: readonly string[];
  /**
   * `--user`: the check covers only the users matching these patterns (the report was built from them
   * alone), out of `fleetUsers`. Unset: the whole fleet.
   */
  scope?: { patterns: readonly string[]; fleetUsers: number } | undefined;
  /**
   * For each user in scope still without any backup that a first-backup group has tried: when that group
   * ended (ms). Waiting since then is judged as a backup's age is.
   */
  firstBackupsDueSince?: readonly number[];
}


/** Nagios plugin exit codes. */
const STATUS = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
type Status = keyof typeof STATUS;

/**
 * The thresholds from the options and the age a backup is stale from (WARNING from maxAge, CRITICAL from
 * twice that, by default). A warning threshold must be below its critical one, or WARNING could never show.
 */
export function nagiosThresholds(given: ThresholdOptions, maxAge: number): Pick<NagiosThresholds, 'warnAge' | 'critAge' | 'warnMessages' | 'critMessages'> {
  const warnAge = given.warnAge ?? maxAge;
  const critAge = given.critAge ?? 2 * maxAge;
  if (warnAge >= critAge) {
    const said = (option: string, value: number, given: number | undefined, fallback: string) => `${option} ${formatAge(value)}${given === undefined ? ` (${fallback})` : ''}`;
    throw new UsageError(
      `${said('--warn-age', warnAge, given.warnAge, 'by default the max age')} must be below ${said('--crit-age', critAge, given.critAge, 'by default twice the max age')}: ` +
        'WARNING is for backups getting old, CRITICAL for older ones',
    );
  }
  const { warnMessages, critMessages } = given;
  if (warnMessages !== undefined && critMessages !== undefined && warnMessages >= critMessages) {
    throw new UsageError(`--warn-messages ${warnMessages} must be below --crit-messages ${critMessages}`);
  }
  return { warnAge, critAge, warnMessages, critMessages };
}

export const NAGIOS_CHECK: MonitoringCheck = {
  thresholds: nagiosThresholds,
  // Nagios kills a service check after 60 s (service_check_timeout) and then knows only that it timed out;
  // ending a little before says what the check was waiting for.
  defaultTimeout: 50_000,
};

/**
 * One status line with perfdata, and the plugin exit code. CRITICAL: a damaged backup (named first, with
 * what Cyrus's deep verification found), a backup older than critAge, a
 * failing user, a user still without a first backup critAge after the group that should have taken it, or
 * at least critMessages messages not yet in the backups. WARNING: the same past warnAge / warnMessages, an
 * unreadable backup, a user on two servers, an IMAP server that could not be asked for its users. Users
 * not yet tried by a first-backup group (a bootstrap in progress) and orphans (not ours to back up) only
 * show in the text and the perfdata. With `--user`, UNKNOWN when no user matches.
 */
export function writeReportNagios(report: StalenessReport, thresholds: NagiosThresholds): { text: string; exitCode: number } {
  const { scope } = thresholds;
  const scopeText = scope && `${report.totalUsers} of ${plural(scope.fleetUsers, 'user')} matching ${scope.patterns.join(' ')}`;
  if (scope && report.totalUsers === 0) return nagiosUnknown(`no user matches --user ${scope.patterns.join(' ')} (of ${plural(scope.fleetUsers, 'user')})`);
  const c = report.counts;
  const problems: string[] = [];
  let status: Status = 'OK';
  const raise = (to: Status, why: string) => {
    problems.push(why);
    if (STATUS[to] > STATUS[status]) status = to;
  };
  const byAge = (ages: readonly number[], what: (n: number) => string, limit: (age: string) => string) => {
    const crit = ages.filter((age) => age >= thresholds.critAge).length;
    const warn = ages.filter((age) => age >= thresholds.warnAge).length;
    if (crit > 0) raise('CRITICAL', `${what(crit)} ${limit(formatAge(thresholds.critAge))}`);
    else if (warn > 0) raise('WARNING', `${what(warn)} ${limit(formatAge(thresholds.warnAge))}`);
  };
  // First: a backup Cyrus found wrong cannot be restored in part, however young it is.
  if (c.damaged > 0) raise('CRITICAL', damagedProblem(report));
  byAge(report.ages, (n) => plural(n, 'backup'), (age) => `older than ${age}`);
  const waits = (thresholds.firstBackupsDueSince ?? []).map((since) => report.generatedAt - since);
  byAge(waits, (n) => plural(n, 'user'), (age) => `without a first backup for more than ${age}`);
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
  const covered = scopeText ?? plural(report.totalUsers, 'user');
  const summary = problems.length > 0 ? `${problems.join(', ')}; ${scopeText ? `${scopeText}, ` : ''}${oldest}` : `${covered}, ${oldest}`;
  const perf = [
    ...USER_STATES.map((s) => `${s}=${c[s]}`),
    `oldest_age=${Math.floor((report.oldest?.age ?? 0) / 1000)}s;${Math.floor(thresholds.warnAge / 1000)};${Math.floor(thresholds.critAge / 1000)};0`,
    `messages_not_in_backup=${atRisk};${thresholds.warnMessages ?? ''};${thresholds.critMessages ?? ''};0`,
    `users_behind=${report.behind.users}`,
  ].join(' ');
  return { text: `XBACKUP ${status} - ${summary} | ${perf}\n`, exitCode: STATUS[status] };
}

/** Damaged users named with Cyrus's finding, the first few of them: the line stays one line. */
const DAMAGED_NAMED = 3;
function damagedProblem(report: StalenessReport): string {
  const damaged = report.users.filter((u) => u.state === 'damaged');
  const named = damaged.slice(0, DAMAGED_NAMED).map((u) => `${u.userid} (${damagedFinding(u.error ?? 'ctl_backups verify found it wrong')})`);
  const more = report.counts.damaged - named.length;
  return `${report.counts.damaged} damaged: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

export function nagiosUnknown(reason: string): { text: string; exitCode: number } {
  return { text: `XBACKUP UNKNOWN - ${reason.split('\n')[0]}\n`, exitCode: STATUS.UNKNOWN };
}

/**
 * Whether the command line asks for the Nagios check (`report … --format nagios`), read from the words
 * themselves: an error can come before (or from) commander's parsing, and must still be a Nagios answer.
 */
export function asksForNagiosCheck(argv: readonly string[]): boolean {
  if (!argv.includes('report')) return false;
  return argv.some((word, i) => word === '--format=nagios' || (word === '--format' && argv[i + 1] === 'nagios'));
}

/**
 * Any error before a verdict (a bad option, the config, the state database, the backup server, the
 * timeout) as the plugin guidelines want it: UNKNOWN, one line on stdout. Commander has already said it on
 * stderr, for a person at a terminal.
 */
export function nagiosError(err: unknown): { text: string; exitCode: number } {
  const message = err instanceof Error ? err.message : String(err);
  return nagiosUnknown(err instanceof CommanderError ? message.replace(/^error: /, '') : message);
}
