import { CyrusDbError } from '../../backupd/cyrusdb/errors.js';
import { ReadOnlyScanCache } from '../../backupd/scan-cache.js';
import { BackupServerScanner, type BackupdView } from '../../backupd/scan.js';
import type { BackupServerPaths } from '../../config/backup-server.js';
import { configFileFromEnv, loadConfig, type Config, type ServerConfig } from '../../config/load.js';
import { openStateDbReadOnly, type StateDb } from '../../scheduler/state/open-state-db.js';
import { SqliteScanCache } from '../../scheduler/state/scan-cache-store.js';
import { UserMemory } from '../../scheduler/state/user-memory.js';
import { classifyUsers } from '../../staleness/classify.js';
import { buildReport } from '../../staleness/report.js';
import { resolveBackupServer } from '../backup-server-view.js';
import { ExitCode } from '../../errors/exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { writeReportCsv } from '../output/report-csv.js';
import { reportJsonChunks } from '../output/report-json.js';
import { nagiosUnknown, writeReportNagios } from '../output/report-nagios.js';
import { writeReportTable } from '../output/report-table.js';
import type { CliIo } from '../program.js';
import type { ReportFormat, ReportOptions } from './report.js';

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

/** Asking the IMAP servers loads imapflow and pino: only a report that does so pays for them. */
async function discover(servers: ServerConfig[], opts: GlobalOptions) {
  const [{ discoverFleet }, { commandLogger }] = await Promise.all([import('../../imap/discover-fleet.js'), import('../logger.js')]);
  return discoverFleet(servers, commandLogger(opts));
}

/** `report`: the backup server's files, joined with discovery and the scheduler's history, in the chosen format. */
export async function runReport(opts: ReportOptions, io: CliIo, setExit: (code: number) => void): Promise<void> {
  const config = loadConfig(configFileFromEnv(opts.config, io.env), { secrets: opts.discovery ? 'lenient' : false });
  // What the scheduler remembers (its scan cache; lastVerified, failures, last attempt), read-only; null before its first run.
  const stateDb = openStateDbReadOnly(config.state);
  try {
    await report(config, stateDb, opts, io, setExit);
  } finally {
    stateDb?.close();
  }
}

async function report(config: Config, stateDb: StateDb | null, opts: ReportOptions, io: CliIo, setExit: (code: number) => void): Promise<void> {
  const format: ReportFormat = opts.json ? 'json' : opts.format;
  const maxAge = opts.maxAge ?? config.policy.maxAge;
  const paths = resolveBackupServer(config);
  const now = Date.now();
  let view;
  try {
    view = await scanBackupServer(paths, stateDb);
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
  const discovery = opts.discovery && config.servers.length > 0 ? await discover(config.servers, opts) : null;
  const classification = classifyUsers({
    backupd: view,
    discovery,
    history: stateDb ? new UserMemory(stateDb).all() : null,
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
      for (const chunk of reportJsonChunks(report)) io.stdout(chunk);
      break;
    case 'csv':
      io.stdout(writeReportCsv(report));
      break;
    case 'prometheus': {
      const { writeReportPrometheus } = await import('../output/report-prometheus.js');
      io.stdout(await writeReportPrometheus(report));
      break;
    }
    case 'nagios': {
      const nagios = writeReportNagios(report, {
        warnAge: opts.warnAge ?? maxAge,
        critAge: opts.critAge ?? 2 * maxAge,
        unaskedServers: discovery?.servers.filter((s) => !s.ok).map((s) => s.name) ?? [],
      });
      io.stdout(nagios.text);
      setExit(nagios.exitCode);
      break;
    }
    case 'table':
      io.stdout(writeReportTable(report));
      break;
  }
}
