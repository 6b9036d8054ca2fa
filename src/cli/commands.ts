// Every command of the CLI, in the order `--help` shows them: its arguments, options and how they are
// parsed. What a command does is its action in ./actions/, loaded only when that command runs, so the
// others (and --version) never pay for IMAP, the scheduler or the state database.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ReportSort } from '../staleness/report.js';
import { isUserState, USER_STATES, type UserState } from '../staleness/user-state.js';
import { parseDuration } from '../units/duration.js';
import type { Setting } from '../units/setting.js';
import { LEAST, readDuration, readSize } from '../config/least-values.js';
import type { GlobalOptions } from './global-options.js';
import { REPORT_FORMAT_NAMES, type ReportFormat } from './output/report-formats.js';
import type { CliIo } from './program.js';

export interface CheckOptions extends GlobalOptions {
  canary?: string;
}

export interface ReportOptions extends GlobalOptions {
  format: ReportFormat;
  state?: UserState[];
  user?: string[];
  sort: ReportSort;
  limit?: number;
  maxAge?: number;
  warnAge?: number;
  critAge?: number;
  warnMessages?: number;
  critMessages?: number;
  discovery: boolean;
  timeout?: number;
  /** Whether --format was given (not its default): it and --json must then agree. */
  formatGiven: boolean;
}

export interface BackupOptions extends GlobalOptions {
  server?: string;
  dryRun?: boolean;
}

export interface BootstrapOptions extends GlobalOptions {
  dryRun?: boolean;
  groupSize?: number;
  maxGroupBytes?: Setting;
  pause?: number;
}

export interface RunOptions extends GlobalOptions {
  once?: boolean;
  pretty?: boolean;
}

export interface HistoryOptions extends GlobalOptions {
  limit: number;
  maintenance?: boolean;
}

export interface DiagnoseOptions extends GlobalOptions {
  attempts: number;
  userids?: boolean;
}

type SetExit = (code: number) => void;

/** A parser for an option's value whose errors commander shows as usage errors. */
const arg =
  <T>(parse: (text: string) => T) =>
  (text: string): T => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };

/** Stale from this age: refused below the least policy.maxAge (config/least-values.ts). */
const backupAge = arg((text) => readDuration(text, 'backup age', LEAST.backupAge));

const wholeNumber = arg((text) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error('expected a whole number ≥ 1');
  return n;
});

const positiveDuration = arg((text) => {
  const ms = parseDuration(text);
  if (ms < 1000) throw new Error(`${text} is too short: at least 1s`);
  return ms;
});

function statesArg(text: string, previous: UserState[] = []): UserState[] {
  const states = text.split(',').map((s) => s.trim());
  const bad = states.filter((s) => !isUserState(s));
  if (bad.length > 0) throw new InvalidArgumentError(`unknown state ${bad.join(', ')}; states are ${USER_STATES.join(', ')}`);
  return [...previous, ...(states as UserState[])];
}

export function defineCommands(program: Command, io: CliIo, setExit: SetExit, argv: readonly string[]): void {
  program
    .command('check')
    .description('check the config, the backup server\'s files and every IMAP server, backing nobody up (unless --canary)')
    .option('--canary <userid>', 'also back up this (small) user and check its index advanced')
    .action(async (_opts: unknown, command: Command) => {
      const { runCheck } = await import('./actions/check.js');
      await runCheck(command.optsWithGlobals<CheckOptions>(), io, setExit);
    });

  program
    .command('report')
    .description('staleness of every user\'s backup, from the backup server\'s own files')
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMAT_NAMES).default('table'))
    .option('--state <states>', `only these states, comma-separated, of: ${USER_STATES.join(', ')}`, statesArg)
    .option('--user <pattern>', 'only users matching (* and %; repeatable)', (p: string, prev: string[] = []) => [...prev, p])
    .addOption(new Option('--sort <key>', 'order of the users').choices(['age', 'size', 'user']).default('age'))
    .option('--limit <n>', 'at most n users', wholeNumber)
    .option('--max-age <duration>', 'stale from this age (overrides policy.maxAge)', backupAge)
    .option('--warn-age <duration>', 'nagios: WARNING when a backup is older (default: max age)', backupAge)
    .option('--crit-age <duration>', 'nagios: CRITICAL when a backup is older (default: twice max age)', backupAge)
    .option('--warn-messages <n>', 'nagios: WARNING when at least n messages are not yet in the backups (default: never)', wholeNumber)
    .option('--crit-messages <n>', 'nagios: CRITICAL when at least n messages are not yet in the backups (default: never)', wholeNumber)
    .option('--no-discovery', 'do not ask the IMAP servers for their users (the backup server\'s files alone)')
    .option('--timeout <duration>', 'give up after this long, saying what it was waiting for (default: 50s with --format nagios, none otherwise)', positiveDuration)
    .action(async (_opts: unknown, command: Command) => {
      const { runReport } = await import('./actions/report.js');
      const formatGiven = command.getOptionValueSource('format') === 'cli';
      await runReport({ ...command.optsWithGlobals<ReportOptions>(), formatGiven }, io, setExit, argv);
    });

  program
    .command('backup')
    .description('back up now every user matching the patterns (userids, or patterns with * and %)')
    .argument('<pattern...>', 'userids or userid patterns, e.g. anne "b*" "*@example.com"')
    .addOption(new Option('--server <name>', 'only this configured server'))
    .option('--dry-run', 'list who would be backed up, and back up nobody')
    .action(async (patterns: string[], _opts: unknown, command: Command) => {
      const { runBackup } = await import('./actions/backup.js');
      await runBackup(patterns, command.optsWithGlobals<BackupOptions>(), io, setExit);
    });

  program
    .command('bootstrap')
    .description('first backups of every user never backed up, a small group at a time; resumable')
    .option('--dry-run', 'print the groups, back up nobody')
    .option('--group-size <n>', 'users per group (bootstrap.groupSize)', wholeNumber)
    .option('--max-group-bytes <size>', 'bytes per group when sizes are known (bootstrap.maxGroupBytes)', arg((text) => readSize(text, 'group size in bytes', LEAST.groupBytes)))
    .option('--pause <duration>', 'pause between groups (bootstrap.pause)', arg(parseDuration))
    .action(async (_opts: unknown, command: Command) => {
      const { runBootstrapCommand } = await import('./actions/bootstrap.js');
      await runBootstrapCommand(command.optsWithGlobals<BootstrapOptions>(), io, setExit);
    });

  program
    .command('plan')
    .description('a dry run of one scheduler cycle: who would be backed up now, in which order and why, and who is held back by which limit')
    .action(async (_opts: unknown, command: Command) => {
      const { runPlan } = await import('./actions/plan.js');
      await runPlan(command.optsWithGlobals<GlobalOptions>(), io);
    });

  program
    .command('run')
    .description('the scheduler: a cycle at start and on policy.schedule, until SIGTERM or SIGINT (SIGHUP reloads the config)')
    .option('--once', 'run one cycle and exit (for systemd timers or cron); exit code 1 if any attempt failed')
    .option('--pretty', 'log lines for people instead of JSON')
    .action(async (_opts: unknown, command: Command) => {
      const { runScheduler } = await import('./actions/run.js');
      await runScheduler(command.optsWithGlobals<RunOptions>(), io, setExit);
    });

  program
    .command('history')
    .description("past backup attempts, or the maintenance lane's ctl_backups runs, newest first")
    .argument('[userid]', 'only this user')
    .addOption(new Option('--limit <n>', 'at most n attempts (or runs)').argParser(wholeNumber).default(100))
    .option('--maintenance', "the maintenance lane's ctl_backups runs (verify, compact, stat) instead of the XBACKUP attempts")
    .action(async (userid: string | undefined, _opts: unknown, command: Command) => {
      const { runHistory } = await import('./actions/history.js');
      runHistory(userid, command.optsWithGlobals<HistoryOptions>(), io);
    });

  const config = program
    .command('config')
    .description('the configuration file: check it offline, or print it as the program reads it');

  config
    .command('validate')
    .summary('check the configuration file offline; exit 0 when it is valid')
    .description(
      'Check the configuration file as every command loads it: its YAML, every key and value, with the file, line and key of each problem. ' +
        'Offline: no IMAP server is contacted, no Cyrus file and no password or token file is read, so it runs anywhere the file is, before it is installed.',
    )
    .action(async (_opts: unknown, command: Command) => {
      const { runConfigValidate } = await import('./actions/config.js');
      runConfigValidate(command.optsWithGlobals<GlobalOptions>(), io, setExit);
    });

  config
    .command('show')
    .summary('the effective configuration: defaults filled in, secrets redacted')
    .description(
      'Print the configuration as the program uses it: every default filled in, relative paths made absolute, durations and sizes as the file writes them. ' +
        'YAML, or JSON with --json. Secrets are left out: a password or token file is named, never read; a URL is cut to its scheme, host and port.',
    )
    .action(async (_opts: unknown, command: Command) => {
      const { runConfigShow } = await import('./actions/config.js');
      runConfigShow(command.optsWithGlobals<GlobalOptions>(), io);
    });

  program
    .command('diagnose')
    .summary('one JSON document for a bug report: versions, redacted config, check, recent attempts, state database')
    .description(
      'Print one JSON document to attach to a bug report: the versions of this tool, Node.js, the OS and Cyrus (the backup server\'s, from cyr_info beside ctl_backups, and each IMAP server\'s, as announced at login), ' +
        'the configuration as `config show` prints it, the results of `check` (without a canary), a summary of the recent attempts and the state database\'s size, schema version and rows per table. ' +
        'It holds no password, token or URL path. Userids are replaced by user-1, user-2, ... unless --userids is given, since bug reports are often public.',
    )
    .addOption(new Option('--attempts <n>', 'the last n attempts').argParser(wholeNumber).default(20))
    .option('--userids', 'show the attempts\' userids instead of user-1, user-2, ...')
    .action(async (_opts: unknown, command: Command) => {
      const { runDiagnose } = await import('./actions/diagnose.js');
      await runDiagnose(command.optsWithGlobals<DiagnoseOptions>(), io);
    });
}
