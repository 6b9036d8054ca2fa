import { backupServerPaths, type BackupServerPaths } from '../config/backup-server.js';
import { readImapdConf } from '../config/imapd-conf.js';
import type { Config } from '../config/load.js';

/** The backup server's paths: from its imapd.conf, with the config's explicit overrides on top. */
export function resolveBackupServer(config: Config): BackupServerPaths {
  const conf = readImapdConf(config.backupd.imapdConf);
  return backupServerPaths(conf, { backupsDb: config.backupd.backupsDb, backupsDbFormat: config.backupd.backupsDbFormat, pageReader: config.backupd.pageReader });
}
