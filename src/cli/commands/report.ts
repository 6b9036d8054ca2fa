import { InvalidArgumentError, Option, type Command } from 'commander';
import { CyrusDbError } from '../../backupd/cyrusdb/errors.js';
import { BackupServerScanner } from '../../backupd/scan.js';
import { parseDuration } from '../../config/duration.js';
import { configFileFromEnv, loadConfig } from '../../config/load.js';
import { discoverFleet } from '../../imap/discover-fleet.js';
import { openStateDbReadOnly } from '../../scheduler/state/open-state-db.js';
import { UserMemory, type RememberedUser } from '../../scheduler/state/user-memory.js';
import { classifyUsers } from '../../staleness/classify.js';
import { buildReport, type ReportSort } from '../../staleness/report.js';
import { isUserState, USER_STATES, type UserState } from '../../staleness/user-state.js';
import { resolveBackupServer } from '../backup-server-view.js';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { commandLogger } from '../logger.js';
import { writeReportCsv } from '../output/report-csv.js';
import { writeReportJson } from '../output/report-json.js';
import { nagiosUnknown, writeReportNagios } from '../output/report-nagios.js';
import { writeReportPrometheus } from '../output/report-prometheus.js';
import { writeReportTable } from '../output/report-table.js';
import type { CliIo } from '../program.js';

type ReportFormat = 'table' | 'json' | 'csv' | 'prometheus' | 'nagios';

interface ReportOptions extends GlobalOptions {
  format: ReportFormat;
  state?: UserState[];
  user?: string[];
  sort: ReportSort;
  limit?: number;
  maxAge?: number;
  warnAge?: number;
  critAge?: number;
  discovery: boolean;
}

/** What the scheduler remembers (lastVerified, failures, last attempt), read-only; null before its first run. */
function readHistory(stateFile: string): Map<string, RememberedUser> | null {
  const db = openStateDbReadOnly(stateFile);
  if (!db) return null;
  try {
    return new UserMemory(db).all();
  } finally {
    db.close();
  }
}

function durationArg(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function statesArg(text: string, previous: UserState[] = []): UserState[] {
  const states = text.split(',').map((s) => s.trim());
  const bad = states.filter((s) => !isUserState(s));
  if (bad.length > 0) throw new InvalidArgumentError(`unknown state ${bad.join(', ')}; states are ${USER_STATES.join(', ')}`);
  return [...previous, ...(states as UserState[])];
}

function limitArg(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

export function registerReport(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('report')
    .description('staleness of every user\'s backup, from the backup server\'s own files')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv', 'prometheus', 'nagios']).default('table'))
    .option('--state <states>', `only these states, comma-separated (${USER_STATES.join(',')})`, statesArg)
    .option('--user <pattern>', 'only users matching (* and %; repeatable)', (p: string, prev: string[] = []) => [...prev, p])
    .addOption(new Option('--sort <key>', 'order of the users').choices(['age', 'size', 'user']).default('age'))
    .option('--limit <n>', 'at most n users', limitArg)
    .option('--max-age <duration>', 'stale from this age (overrides policy.maxAge)', durationArg)
    .option('--warn-age <duration>', 'nagios: WARNING when a backup is older (default: max age)', durationArg)
    .option('--crit-age <duration>', 'nagios: CRITICAL when a backup is older (default: twice max age)', durationArg)
    .option('--no-discovery', 'do not ask the IMAP servers for their users (the backup server\'s files alone)')
    .action(async (_opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<ReportOptions>();
      const format: ReportFormat = opts.json ? 'json' : opts.format;
      const config = loadConfig(configFileFromEnv(opts.config, io.env), { secrets: opts.discovery ? 'lenient' : false });
      const maxAge = opts.maxAge ?? config.policy.maxAge;
      const paths = resolveBackupServer(config);
      const now = Date.now();
      let view;
      try {
        view = await new BackupServerScanner(paths).scan();
      } catch (err) {
        if (!(err instanceof CyrusDbError)) throw err;
        if (format === 'nagios') {
          const unknown = nagiosUnknown(err.message);
          io.stdout(unknown.text);
          setExit(unknown.exitCode);
        } else {
          io.stderr(`cannot read backups.db: ${err.message}\n`);
          setExit(ExitCode.someWorkFailed);
        }
        return;
      }
      const discovery = opts.discovery && config.servers.length > 0 ? await discoverFleet(config.servers, commandLogger(opts)) : null;
      const classification = classifyUsers({
        backupd: view,
        discovery,
        history: readHistory(config.state),
        policy: { maxAge, failingAfter: config.policy.failingAfter },
        now,
      });
      const notes = [
        ...(view.backupsDbExists ? [] : [`${view.backupsDb} does not exist yet: nobody has been backed up to this server`]),
        ...(discovery?.servers.filter((s) => !s.ok).map((s) => `could not ask ${s.name} for its users: ${s.error}`) ?? []),
      ];
      if (!view.backupsDbExists && format === 'nagios') {
        const unknown = nagiosUnknown(notes[0]!);
        io.stdout(unknown.text);
        setExit(unknown.exitCode);
        return;
      }
      const report = buildReport(classification, { now, maxAge, notes }, {
        ...(opts.state && { states: opts.state }),
        ...(opts.user && { userPatterns: opts.user }),
        sort: opts.sort,
        ...(opts.limit !== undefined && { limit: opts.limit }),
      });
      switch (format) {
        case 'json':
          io.stdout(writeReportJson(report));
          break;
        case 'csv':
          io.stdout(writeReportCsv(report));
          break;
        case 'prometheus':
          io.stdout(await writeReportPrometheus(report));
          break;
        case 'nagios': {
          const nagios = writeReportNagios(report, { warnAge: opts.warnAge ?? maxAge, critAge: opts.critAge ?? 2 * maxAge });
          io.stdout(nagios.text);
          setExit(nagios.exitCode);
          break;
        }
        case 'table':
          io.stdout(writeReportTable(report));
          break;
      }
    });
}
