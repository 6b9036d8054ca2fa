import { isAbsolute, join } from 'node:path';
import { ConfigError } from './errors.js';
import type { ImapdConf } from './imapd-conf.js';

export type BackupsDbFormat = 'twoskip' | 'skiplist' | 'flat';

/** Where the backup server keeps its state, resolved the way Cyrus resolves it. */
export interface BackupServerPaths {
  imapdConf: string;
  configDirectory: string;
  backupsDb: string;
  backupsDbFormat: BackupsDbFormat;
  partitions: ReadonlyMap<string, string>;
  stagingPath: string;
  /** Whether an index's chunk and mailbox tables may be read from its pages (backupd.pageReader); false: by SQLite always. */
  pageReader: boolean;
}

export interface BackupServerOverrides {
  backupsDb?: string | undefined;
  backupsDbFormat?: BackupsDbFormat | undefined;
  pageReader?: boolean | undefined;
}

const READABLE_FORMATS: readonly string[] = ['twoskip', 'skiplist', 'flat'];

export function backupServerPaths(conf: ImapdConf, overrides: BackupServerOverrides = {}): BackupServerPaths {
  const configDirectory = conf.get('configdirectory');
  if (!configDirectory) {
    throw new ConfigError(conf.file, undefined, 'configdirectory', 'required by Cyrus and missing; is this the backup server\'s imapd.conf?');
  }
  const format = overrides.backupsDbFormat ?? conf.get('backup_db') ?? 'twoskip';
  if (!READABLE_FORMATS.includes(format)) {
    throw new ConfigError(conf.where('backup_db'), undefined, 'backup_db', `"${format}" cannot be read; supported: twoskip, skiplist, flat`);
  }
  const partitions = conf.withPrefix('backuppartition-');
  if (partitions.size === 0) {
    throw new ConfigError(conf.file, undefined, 'backuppartition-<name>', 'no backup partition is configured; backupd needs at least one');
  }
  const tempPath = conf.get('temp_path') || '/tmp';
  const backupsDb = overrides.backupsDb ?? (conf.get('backup_db_path') || join(configDirectory, 'backups.db'));
  if (!isAbsolute(backupsDb)) {
    throw new ConfigError(conf.where('backup_db_path'), undefined, 'backup_db_path', `must be an absolute path, got "${backupsDb}"`);
  }
  return {
    imapdConf: conf.file,
    configDirectory,
    backupsDb,
    backupsDbFormat: format as BackupsDbFormat,
    partitions,
    stagingPath: conf.get('backup_staging_path') || join(tempPath, 'backup'),
    pageReader: overrides.pageReader ?? true,
  };
}
