// The one way the scheduler runs Cyrus's maintenance tools: `<prefix> <ctlBackups> -C <imapd.conf> -j --
// <verb> <userid>…`, as the backups' owner through the configured prefix (maintenance.command: sudo,
// runuser, or nothing when the scheduler is that user). The scheduler itself only reads Cyrus's files;
// whatever is written, ctl_backups writes, taking each backup's lock as backupd does.
import { plural } from '../../text/plural.js';
import { runBounded } from '../bounded-child.js';
import { escapeControlCharacters } from '../../text/quote-for-log.js';
import { parseCtlBackupsRun, type BackupOutcome, type MaintenanceVerb } from './ctl-backups-output.js';

export type { BackupOutcome, BackupStatus, MaintenanceVerb } from './ctl-backups-output.js';
export { outcomeText } from './ctl-backups-output.js';

/**
 * What a run may print, stdout and stderr together: a fixed part for Cyrus's own complaints, and a part
 * per backup named, far above the ~150 bytes of its JSON object and its data file's path. More is no
 * ctl_backups of ours: the run is stopped before it fills memory.
 */
export const OUTPUT_BASE_BYTES = 64 * 1024;
export const OUTPUT_PER_BACKUP_BYTES = 8 * 1024;

/** Of its stderr, what a problem's text quotes at most. */
const STDERR_QUOTED = 2000;

/**
 * Variables passed on: enough to run a program and read its messages. Not the rest: the scheduler's
 * environment may hold IMAP passwords (servers[].passwordEnv), and ctl_backups has no need of them.
 */
const PASSED_ON = ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'TZ'];

export interface CyrusToolCommand {
  /** maintenance.command; [] runs ctl_backups as the scheduler's own user. */
  prefix: readonly string[];
  ctlBackups: string;
  /** backupd's imapd.conf. */
  imapdConf: string;
  /** maintenance.timeout, for the whole run. */
  timeoutMs: number;
}

export interface CyrusToolRun {
  verb: MaintenanceVerb;
  /** The command line run, for logs and `check`. */
  argv: string[];
  /** One per userid asked, in the order asked. */
  outcomes: BackupOutcome[];
  /** What ctl_backups printed that is about no backup asked for. */
  stray: string[];
  /**
   * Why the run as a whole went wrong: it could not start, missed its deadline, printed too much, or
   * exited other than 0 or 75 (EX_TEMPFAIL: some backup skipped, locked, failed or not found, which the
   * outcomes say). Undefined when ctl_backups ran to its end.
   */
  problem?: string;
  /** Killed at maintenance.timeout (a finding for verify: it loops forever on some damage). */
  timedOut: boolean;
  /** Cut short because the scheduler is stopping. */
  cutShort: boolean;
  exitCode: number | null;
  /** Its stderr (bounded, control characters escaped): the prefix's complaints and Cyrus's. */
  stderr: string;
  ms: number;
}

/** The command of this config: maintenance.command's prefix, or none (ctl_backups as the scheduler's user, as compactAfter ran before it). */
export function cyrusToolCommand(
  config: { backupd: { ctlBackups: string }; maintenance: { command?: readonly string[] | undefined; timeout: number } },
  imapdConf: string,
): CyrusToolCommand {
  return { prefix: config.maintenance.command ?? [], ctlBackups: config.backupd.ctlBackups, imapdConf, timeoutMs: config.maintenance.timeout };
}

/** The argument vector: the prefix, then ctl_backups with `--` before the verb (see below). */
export function cyrusToolArgv(command: CyrusToolCommand, verb: MaintenanceVerb, userids: readonly string[]): string[] {
  // ctl_backups reads options with glibc's getopt, which also takes them after the command word: a userid
  // `-A` would act on every backup on the server. `--` ends the options; before the command word it does
  // so whether or not POSIXLY_CORRECT is set (with it, getopt stops at the verb and a `--` after it would
  // be taken for a userid). -j: one JSON object per backup, its userid exact whatever characters it holds.
  return [...command.prefix, command.ctlBackups, '-C', command.imapdConf, '-j', '--', verb, ...userids];
}

export function toolEnvironment(parent: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED_ON) if (parent[name] !== undefined) env[name] = parent[name]!;
  return env;
}

/**
 * Runs ctl_backups once over `userids` and reads each one's outcome from its output. Never rejects: a run
 * that could not start or was stopped says so in `problem`, and its unanswered backups are `no-answer`.
 */
export async function runCyrusTool(
  command: CyrusToolCommand,
  verb: MaintenanceVerb,
  userids: readonly string[],
  options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv; now?: () => number } = {},
): Promise<CyrusToolRun> {
  const argv = cyrusToolArgv(command, verb, userids);
  const now = options.now ?? Date.now;
  const started = now();
  const limit = OUTPUT_BASE_BYTES + OUTPUT_PER_BACKUP_BYTES * userids.length;
  const timeoutText = `ran longer than maintenance.timeout, ${command.timeoutMs / 1000} s: killed`;
  const exit = await runBounded({
    argv,
    env: toolEnvironment(options.env ?? process.env),
    timeoutMs: command.timeoutMs,
    timeoutText,
    ...(options.signal && { signal: options.signal }),
    outputLimit: limit,
    overLimit: { stopText: `printed more than ${limit} bytes, far more than ctl_backups prints for ${plural(userids.length, 'backup')}: stopped` },
  });
  const out = exit.stdout.toString('utf8');
  const err = exit.stderr.toString('utf8');
  const said = escapeControlCharacters(err.trim().replace(/\s+/g, ' ')).slice(0, STDERR_QUOTED);
  let problem: string | undefined;
  if (exit.startError !== undefined) problem = `could not start ${argv[0]}: ${exit.startError}`;
  else if (exit.stoppedBy !== null) problem = `${argv[0]} ${exit.stoppedBy}`;
  else if (exit.code === null) problem = `${argv[0]} was killed by ${exit.signal}${said ? `: ${said}` : ''}`;
  else if (exit.code !== 0 && exit.code !== EX_TEMPFAIL) problem = `${argv[0]} exited ${exit.code}${said ? `: ${said}` : ''}`;
  const parsed = parseCtlBackupsRun(verb, userids, out, err);
  return {
    verb,
    argv,
    ...parsed,
    timedOut: exit.stoppedBy === timeoutText,
    cutShort: exit.stoppedBy !== null && options.signal?.aborted === true,
    exitCode: exit.code,
    stderr: escapeControlCharacters(err.trim()).slice(0, STDERR_QUOTED),
    ms: now() - started,
    ...(problem === undefined ? {} : { problem }),
  };
}

/** ctl_backups' exit when any backup was skipped, locked, failed or not found (sysexits.h). */
export const EX_TEMPFAIL = 75;
