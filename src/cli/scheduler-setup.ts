import type { Logger } from 'pino';
import type { BackupServerPaths } from '../config/backup-server.js';
import { configFileFromEnv, loadConfig, type Config } from '../config/load.js';
import type { BackupResult } from '../scheduler/backup-result.js';
import { openScheduler, type SchedulerParts } from '../scheduler/open-scheduler.js';
import { InstanceLock } from '../scheduler/state/instance-lock.js';
import { resolveBackupServer } from './backup-server-view.js';
import type { GlobalOptions } from './global-options.js';
import { UsageError } from './usage-error.js';

export interface SchedulerSetup {
  config: Config;
  paths: BackupServerPaths;
  parts: SchedulerParts;
  /** Held by `run` and `bootstrap` until they exit. */
  lock: InstanceLock | null;
}

/** Config, backup server paths and the scheduler's parts, as every scheduling command needs them. */
export function setUpScheduler(
  options: GlobalOptions,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  extra: { exclusive?: string; onResult?: (r: BackupResult) => void; adjust?: (c: Config) => Config } = {},
): SchedulerSetup {
  const loaded = loadConfig(configFileFromEnv(options.config, env), { secrets: true });
  const config = extra.adjust ? extra.adjust(loaded) : loaded;
  return openFor(config, logger, extra);
}

/** The same for a config already loaded (a SIGHUP reload, which keeps the lock it `holds`). */
export function openFor(
  config: Config,
  logger: Logger,
  extra: { exclusive?: string; holds?: InstanceLock | null; onResult?: (r: BackupResult) => void } = {},
): SchedulerSetup {
  if (config.servers.length === 0) throw new UsageError(`${config.file} configures no IMAP server (servers:)`);
  const paths = resolveBackupServer(config);
  const taken = extra.exclusive ? InstanceLock.acquire(config.state, extra.exclusive, Date.now()) : null;
  const lock = extra.holds ?? taken;
  try {
    const parts = openScheduler(config, paths, {
      logger,
      recoverInterrupted: lock !== null,
      ...(extra.onResult && { onResult: extra.onResult }),
      ...(lock && { guard: () => lock.stillHeld() }),
    });
    return { config, paths, parts, lock };
  } catch (err) {
    taken?.release();
    throw err;
  }
}
