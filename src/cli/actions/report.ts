import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CyrusDbError } from '../../backupd/cyrusdb/errors.js';
import { ReadOnlyScanCache } from '../../backupd/scan-cache.js';
import { BackupServerScanner, type BackupdView } from '../../backupd/scan.js';
import type { BackupServerPaths } from '../../config/backup-server.js';
import { configFileFromEnv, loadConfig, type Config, type ServerConfig } from '../../config/load.js';
import { openStateDbReadOnly, type StateDb } from '../../scheduler/state/open-state-db.js';
import { SqliteScanCache } from '../../scheduler/state/scan-cache-store.js';
import { UserMemory } from '../../scheduler/state/user-memory.js';
import { assessFleet } from '../../staleness/assess-fleet.js';
import { buildReport } from '../../staleness/report.js';
import { resolveBackupServer } from '../backup-server-view.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { ToolError } from '../../errors/tool-error.js';
import { compileUseridPattern, matchesAny } from '../../cyrus-names/userid-pattern.js';
import type { FleetDiscovery } from '../../imap/fleet-discovery.js';
import { BootstrapGroups } from '../../scheduler/state/bootstrap-groups.js';
import { formatAge } from '../../units/duration.js';
import type { GlobalOptions } from '../global-options.js';
import { chosenFormat, refuseThresholds, REPORT_FORMATS, type MonitoringCheck, type WrittenReport } from '../output/report-formats.js';
import type { CliIo } from '../program.js';
import type { ReportOptions } from '../commands.js';

/**
 * The backup server's files, reading again only the indexes that changed since the scheduler last read
 * them (its state database's scan cache, used read-only); every index when no scheduler has run.
 */
async function scanBackupServer(paths: BackupServerPaths, stateDb: StateDb | null): Promise<BackupdView> {
  const scanner = new BackupServerScanner(paths, stateDb ? new ReadOnlyScanCache(new SqliteScanCache(stateDb)) : undefined, Date.now, { scansOnce: true });
  try {
    return await scanner.scan();
  } finally {
    await scanner.close();
  }
}

/**
 * Asking the IMAP servers loads imapflow and pino: only a report that does so pays for them. Each server is
 * asked on its own, side by side, so that `waiting` names those that have not answered yet.
 */
async function discover(servers: ServerConfig[], compare: boolean, opts: GlobalOptions, bound: Bound): Promise<FleetDiscovery> {
  const [{ discoverFleet }, { commandLogger }] = await Promise.all([import('../../imap/discover-fleet.js'), import('../logger.js')]);
  const logger = commandLogger(opts);
  const pending = new Set(servers.map((s) => s.name));
  const sayWaiting = () => bound.waitingFor(() => `${[...pending].join(', ')} to say who ${pending.size === 1 ? 'its' : 'their'} users are`);
  sayWaiting();
  const each = await Promise.all(
    servers.map(async (server) => {
      const found = await discoverFleet([server], logger, Date.now, { compare });
      pending.delete(server.name);
      if (pending.size > 0) sayWaiting();
      return found;
    }),
  );
  return { startedAt: Math.min(...each.map((d) => d.startedAt)), finishedAt: Math.max(...each.map((d) => d.finishedAt)), servers: each.flatMap((d) => d.servers) };
}

/**
 * The report took longer than --timeout (or a check's default), and says what it was still waiting for; or
 * its process ended by a signal (killed by someone else, out of memory) before it answered.
 */
class ReportUnansweredError extends ToolError {
  override readonly name = 'ReportUnansweredError';
  readonly exitCode = ExitCode.someWorkFailed;
}

/** What the report is waiting for now, told as it changes to the process that holds its bound (reportInChild). */
interface Bound {
  waitingFor(what: () => string): void;
}

const UNBOUNDED: Bound = { waitingFor: () => undefined };

/** Set in the environment of the process a bounded report runs in; its parent holds the bound. */
const BOUNDED_CHILD_ENV = 'XBACKUP_SCHEDULER_BOUNDED_REPORT';
/** The CLI's entry point, which the bounded report runs again as its child. */
const CLI_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
/** What a child's message may say it waits for, at most: its parent prints it in one line. */
const MAX_WAITING_TEXT = 500;

/** Inside a bounded report's child: each change of what it waits for goes to the parent. */
function toParent(send: NonNullable<typeof process.send>): Bound {
  return { waitingFor: (what) => void send({ waitingFor: what() }) };
}

/**
 * The report run again as a child process of this one, ended after `timeout` ms saying what it was still
 * waiting for. The bound is held here because the backup server's files are read with blocking calls: a
 * read that never returns (a hung NFS partition) stops every timer of the process making it, and a bound
 * kept there would never fire. This process only waits, so its timer always fires; the child is killed.
 */
async function reportInChild(timeout: number, argv: readonly string[], io: CliIo, setExit: (code: number) => void): Promise<void> {
  // execArgv empty: this process's own Node flags (a debugger's port, a profiler) are not the report's.
  const child = fork(CLI_MAIN, argv, { env: { ...io.env, [BOUNDED_CHILD_ENV]: '1' }, execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let waiting = 'the report to start';
  let over = false;
  child.on('message', (message: unknown) => {
    const what = (message as { waitingFor?: unknown } | null)?.waitingFor;
    if (typeof what === 'string') waiting = what.slice(0, MAX_WAITING_TEXT);
  });
  child.stdout!.setEncoding('utf8').on('data', (text: string) => void (over || io.stdout(text)));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => void (over || io.stderr(text)));
  const ended = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) =>
      code === null ? reject(new ReportUnansweredError(`the report's process ended by ${signal ?? 'an unknown cause'} while waiting for ${waiting}`)) : resolve(code),
    );
  });
  // Once the bound has passed, how the child ends is of no interest.
  ended.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeout);
  });
  try {
    const code = await Promise.race([ended, expired]);
    if (code !== null) {
      setExit(code);
      return;
    }
    over = true;
    // A child stuck in a read the kernel cannot interrupt outlives the kill: nothing of it may keep this process.
    child.kill('SIGKILL');
    child.stdout!.destroy();
    child.stderr!.destroy();
    if (child.connected) child.disconnect();
    child.unref();
    throw new ReportUnansweredError(`no answer within ${formatAge(timeout)} (--timeout): still waiting for ${waiting}`);
  } finally {
    clearTimeout(timer);
  }
}

/** `report`: the backup server's files, joined with discovery and the scheduler's history, in the chosen format. */
export async function runReport(opts: ReportOptions, io: CliIo, setExit: (code: number) => void, argv: readonly string[]): Promise<void> {
  const format = chosenFormat(opts.json, opts.format, opts.formatGiven);
  refuseThresholds(format, opts);
  const check = await REPORT_FORMATS[format].check?.();
  const timeout = opts.timeout ?? check?.defaultTimeout;
  const inChild = io.env[BOUNDED_CHILD_ENV] === '1' && process.send !== undefined;
  if (timeout !== undefined && !inChild) return reportInChild(timeout, argv, io, setExit);
  const bound = inChild ? toParent(process.send!.bind(process)) : UNBOUNDED;
  const config = loadConfig(configFileFromEnv(opts.config, io.env), { secrets: opts.discovery ? 'lenient' : false });
  const maxAge = opts.maxAge ?? config.policy.maxAge;
  const thresholds = check?.thresholds(opts, maxAge);
  // What the scheduler remembers (its scan cache; lastVerified, failures, last attempt), read-only; null before its first run.
  const stateDb = openStateDbReadOnly(config.state);
  try {
    await report(config, stateDb, { ...opts, format, maxAge, thresholds }, io, setExit, bound);
  } finally {
    stateDb?.close();
  }
}

interface Settled extends ReportOptions {
  maxAge: number;
  /** A monitoring check's thresholds; undefined for the other formats. */
  thresholds: ReturnType<MonitoringCheck['thresholds']> | undefined;
}

async function report(config: Config, stateDb: StateDb | null, opts: Settled, io: CliIo, setExit: (code: number) => void, bound: Bound): Promise<void> {
  const { format, maxAge, thresholds } = opts;
  const paths = resolveBackupServer(config);
  const { cannotRead, write } = REPORT_FORMATS[format];
  const print = (written: WrittenReport) => {
    for (const chunk of written.chunks) io.stdout(chunk);
    if (written.exitCode !== undefined) setExit(written.exitCode);
  };
  let view;
  try {
    bound.waitingFor(() => `the backup server's files (${paths.backupsDb} and the indexes it lists)`);
    view = await scanBackupServer(paths, stateDb);
  } catch (err) {
    if (!(err instanceof CyrusDbError)) throw err;
    if (cannotRead) {
      print(await cannotRead(err.message));
    } else {
      io.stderr(`cannot read backups.db: ${err.message}\n`);
      setExit(ExitCode.someWorkFailed);
    }
    return;
  }
  const discovery = opts.discovery && config.servers.length > 0 ? await discover(config.servers, config.policy.compareLive, opts, bound) : null;
  // Ages are as of the moment every piece of evidence is in: a reading of the mailboxes or a chunk made
  // during the scan or the discovery would otherwise be younger than "now" (a negative age, or a backup
  // dated in the future).
  const now = Date.now();
  const { classification, notes } = assessFleet({
    backupd: view,
    discovery,
    history: stateDb ? new UserMemory(stateDb).all() : null,
    policy: { maxAge, failingAfter: config.policy.failingAfter, maxUnchangedAge: config.policy.maxUnchangedAge },
    now,
  });
  // A monitoring check knows nothing yet; the other formats show the empty fleet with the note.
  if (!view.backupsDbExists && cannotRead) {
    print(await cannotRead(notes[0]!));
    return;
  }
  // A check covers only the users --user matches; a listing lists them and counts everyone.
  const patterns = opts.user?.map(compileUseridPattern);
  const covered = thresholds && patterns ? { ...classification, users: classification.users.filter((u) => matchesAny(u.userid, patterns)) } : classification;
  const report = buildReport(covered, { now, maxAge, notes, verifyEvery: config.maintenance.verifyEvery }, {
    ...(opts.state && { states: opts.state }),
    ...(opts.user && { userPatterns: opts.user }),
    sort: opts.sort,
    ...(opts.limit !== undefined && { limit: opts.limit }),
  });
  const firstBackupsDueSince = () => {
    const triedAt = stateDb ? new BootstrapGroups(stateDb).firstTriedBy() : new Map<string, number>();
    return covered.users.flatMap((u) => (u.state === 'missing' && triedAt.has(u.userid) ? [triedAt.get(u.userid)!] : []));
  };
  print(
    await write(report, {
      // Only a check reads these; the other formats are given the ages it would default to.
      ...(thresholds ?? { warnAge: maxAge, critAge: 2 * maxAge }),
      unaskedServers: discovery?.servers.filter((s) => !s.ok).map((s) => s.name) ?? [],
      scope: thresholds && opts.user ? { patterns: opts.user, fleetUsers: classification.users.length } : undefined,
      firstBackupsDueSince: thresholds ? firstBackupsDueSince() : [],
    }),
  );
}
