// The one way the scheduler runs Cyrus's maintenance tools: `<prefix> <ctlBackups> -C <imapd.conf> -j --
// <verb> <userid>…`, as the backups' owner through the configured prefix (maintenance.command: sudo,
// runuser, or nothing when the scheduler is that user). The scheduler itself only reads Cyrus's files;
// whatever is written, ctl_backups writes, taking each backup's lock as backupd does.
import { spawn } from 'node:child_process';
import { escapeControlCharacters } from '../../text/quote-for-log.js';
import { parseCtlBackupsRun, type BackupOutcome, type MaintenanceVerb } from './ctl-backups-output.js';

export type { BackupOutcome, BackupStatus, MaintenanceVerb } from './ctl-backups-output.js';

/** After the deadline's SIGTERM, this long before SIGKILL. */
export const KILL_GRACE_MS = 2000;

/** After it exits, how long its output pipes are read before they are let go (something it started may hold them). */
const OUTPUT_GRACE_MS = 500;

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
export function runCyrusTool(
  command: CyrusToolCommand,
  verb: MaintenanceVerb,
  userids: readonly string[],
  options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv; now?: () => number } = {},
): Promise<CyrusToolRun> {
  const argv = cyrusToolArgv(command, verb, userids);
  const now = options.now ?? Date.now;
  const started = now();
  const limit = OUTPUT_BASE_BYTES + OUTPUT_PER_BACKUP_BYTES * userids.length;
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let printed = 0;
    let stoppedBy: string | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;
    // Its own process group, so that a deadline also ends what it started. Through sudo, the signal reaches
    // sudo (whose real uid is ours), which passes it on to ctl_backups.
    const child = spawn(argv[0]!, argv.slice(1), { env: toolEnvironment(options.env ?? process.env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // Gone already.
      }
    };
    const stop = (why: string) => {
      if (stoppedBy !== null || child.pid === undefined) return;
      stoppedBy = why;
      child.stdout.destroy();
      child.stderr.destroy();
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const keep = (into: Buffer[]) => (chunk: Buffer) => {
      if (stoppedBy !== null) return;
      printed += chunk.length;
      if (printed > limit) stop(`printed more than ${limit} bytes, far more than ctl_backups prints for ${userids.length} backup${userids.length === 1 ? '' : 's'}: stopped`);
      else into.push(chunk);
    };
    child.stdout.on('data', keep(stdout));
    child.stderr.on('data', keep(stderr));
    const timer = setTimeout(() => stop(`ran longer than maintenance.timeout, ${command.timeoutMs / 1000} s: killed`), command.timeoutMs);
    const onAbort = () => stop('cut short: the scheduler is stopping');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    const finish = (exitCode: number | null, problem: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (stoppedBy !== null) {
        // What it started may still be running: the group goes too, after the same grace.
        clearTimeout(killTimer);
        killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
        killTimer.unref();
      }
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8');
      const parsed = parseCtlBackupsRun(verb, userids, out, err);
      const said = escapeControlCharacters(err.trim()).slice(0, STDERR_QUOTED);
      resolve({ verb, argv, ...parsed, exitCode, stderr: said, ms: now() - started, ...(problem === undefined ? {} : { problem }) });
    };
    child.on('error', (e: NodeJS.ErrnoException) => finish(null, `could not start ${argv[0]}: ${e.code ?? e.message}`));
    child.on('exit', (code, sig) => {
      const letGo = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, OUTPUT_GRACE_MS);
      child.once('close', () => {
        clearTimeout(letGo);
        const said = escapeControlCharacters(Buffer.concat(stderr).toString('utf8').trim().replace(/\s+/g, ' ')).slice(0, STDERR_QUOTED);
        let problem: string | undefined;
        if (stoppedBy !== null) problem = `${argv[0]} ${stoppedBy}`;
        else if (code === null) problem = `${argv[0]} was killed by ${sig}${said ? `: ${said}` : ''}`;
        else if (code !== 0 && code !== EX_TEMPFAIL) problem = `${argv[0]} exited ${code}${said ? `: ${said}` : ''}`;
        finish(code, problem);
      });
    });
  });
}

/** ctl_backups' exit when any backup was skipped, locked, failed or not found (sysexits.h). */
export const EX_TEMPFAIL = 75;
