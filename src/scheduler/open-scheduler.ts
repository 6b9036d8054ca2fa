import type { Logger } from 'pino';
import { BackupsDbReader } from '../backupd/backups-listing.js';
import { BackupServerScanner } from '../backupd/scan.js';
import type { BackupServerPaths } from '../config/backup-server.js';
import type { Config } from '../config/load.js';
import type { BackupResult } from './backup-result.js';
import { CycleRunner } from './cycle.js';
import { Executor } from './executor.js';
import { SessionPool } from './session-pool.js';
import { AttemptLog } from './state/attempt-log.js';
import { BootstrapGroups } from './state/bootstrap-groups.js';
import { CycleLog } from './state/cycle-log.js';
import { openStateDb, type StateDb } from './state/open-state-db.js';
import { SqliteScanCache } from './state/scan-cache-store.js';
import { ServerStates } from './state/server-state.js';
import { UserMemory } from './state/user-memory.js';
import { MaintenanceLog } from './state/maintenance-log.js';
import { MaintenanceLane } from './maintenance/maintenance-lane.js';
import { cyrusToolCommand } from './maintenance/cyrus-tool.js';
import { maintenancePolicy } from './maintenance/queue-now.js';

export interface SchedulerParts {
  db: StateDb;
  attempts: AttemptLog;
  memory: UserMemory;
  serverStates: ServerStates;
  groups: BootstrapGroups;
  /** The cycles' results, for the loop's last success and counts across restarts. */
  cycles: CycleLog;
  maintenanceLog: MaintenanceLog;
  /** The maintenance lane; null while maintenance.command is unset (maintenance is off by default). */
  maintenance: MaintenanceLane | null;
  executor: Executor;
  cycle: CycleRunner;
  pool: SessionPool;
  close(): Promise<void>;
}

export interface OpenSchedulerOptions {
  /** For the holder of the instance lock (`run`, `bootstrap`): close the attempts a crash left open. */
  recoverInterrupted?: boolean;
  logger: Logger;
  onResult?: (result: BackupResult) => void;
  /** The instance lock's check, for its holder: no cycle or command once the state database is not ours. */
  guard?: () => void;
  now?: () => number;
}

/** Opens the state database and wires the scheduler's parts for one config. */
export function openScheduler(config: Config, paths: BackupServerPaths, options: OpenSchedulerOptions): SchedulerParts {
  const now = options.now ?? Date.now;
  const db = openStateDb(config.state);
  const attempts = new AttemptLog(db);
  const memory = new UserMemory(db);
  if (options.recoverInterrupted) {
    const interrupted = attempts.closeInterrupted(now());
    if (interrupted.length > 0) {
      memory.markInDoubt(interrupted.map((a) => ({ userid: a.userid, attemptId: a.id, since: a.startedAt, chunkBefore: a.chunkBefore })), config.retry.inDoubtGrace);
      options.logger.warn({ attempts: interrupted.length, users: interrupted.map((a) => a.userid) }, 'closed attempts a previous run left open as interrupted');
    }
  }
  const maintenanceLog = new MaintenanceLog(db);
  if (options.recoverInterrupted) {
    const cut = maintenanceLog.closeInterrupted(now());
    if (cut.length > 0) options.logger.warn({ runs: cut.length, users: cut.map((r) => r.userid) }, 'closed ctl_backups runs a previous run left open as interrupted');
  }
  const serverStates = new ServerStates(db);
  const groups = new BootstrapGroups(db);
  const pool = new SessionPool(options.logger);
  const backupsDb = new BackupsDbReader(paths);
  const executor = new Executor({
    servers: new Map(config.servers.map((s) => [s.name, s])),
    backupsDb,
    attempts,
    memory,
    serverStates,
    pool,
    retry: config.retry,
    logger: options.logger,
    ...(options.onResult && { onResult: options.onResult }),
    ...(options.guard && { guard: options.guard }),
    now,
  });
  const scanner = new BackupServerScanner(backupsDb, new SqliteScanCache(db), now);
  const m = config.maintenance;
  const maintenance =
    m.command === undefined
      ? null
      : new MaintenanceLane({
          tool: cyrusToolCommand(config, paths.imapdConf),
          policy: maintenancePolicy(m),
          concurrent: m.concurrent,
          memory,
          log: maintenanceLog,
          xbackupsInFlight: executor.inFlightUsers,
          logger: options.logger,
          now,
        });
  const cycle = new CycleRunner({ config, paths, scanner, executor, memory, attempts, serverStates, groups, maintenanceLog, logger: options.logger, now, ...(options.guard && { guard: options.guard }) });
  return {
    db,
    attempts,
    memory,
    serverStates,
    groups,
    cycles: new CycleLog(db),
    maintenanceLog,
    maintenance,
    executor,
    cycle,
    pool,
    async close() {
      // ctl_backups runs under way end first (or are cut short past the grace): they write to the state database.
      await maintenance?.stop(config.policy.shutdownGrace);
      await pool.closeAll();
      await scanner.close();
      db.close();
    },
  };
}
