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
import type { GlobalOptions } from '../global-options.js';
import { REPORT_FORMATS, type ReportFormat, type WrittenReport } from '../output/report-formats.js';
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

/** Asking the IMAP servers loads imapflow and pino: only a report that does so pays for them. */
async function discover(servers: ServerConfig[], compare: boolean, opts: GlobalOptions) {
  const [{ discoverFleet }, { commandLogger }] = await Promise.all([import('../../imap/discover-fleet.js'), import('../logger.js')]);
  return discoverFleet(servers, commandLogger(opts), Date.now, { compare });
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
  const { cannotRead, write } = REPORT_FORMATS[format];
  const print = (written: WrittenReport) => {
    for (const chunk of written.chunks) io.stdout(chunk);
    if (written.exitCode !== undefined) setExit(written.exitCode);
  };
  let view;
  try {
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
  const discovery = opts.discovery && config.servers.length > 0 ? await discover(config.servers, config.policy.compareLive, opts) : null;
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
  const report = buildReport(classification, { now, maxAge, notes }, {
    ...(opts.state && { states: opts.state }),
    ...(opts.user && { userPatterns: opts.user }),
    sort: opts.sort,
    ...(opts.limit !== undefined && { limit: opts.limit }),
  });
  print(
    await write(report, {
      warnAge: opts.warnAge ?? maxAge,
      critAge: opts.critAge ?? 2 * maxAge,
      warnMessages: opts.warnMessages,
      critMessages: opts.critMessages,
      unaskedServers: discovery?.servers.filter((s) => !s.ok).map((s) => s.name) ?? [],
    }),
  );
}
