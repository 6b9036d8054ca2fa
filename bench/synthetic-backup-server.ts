import Database from 'better-sqlite3';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeBackupVariant, type BackupVariant } from './backup-index-variants.js';
import { assertReachableByCyrus, cyrusAccount, runCyrusTool } from './cyrus.js';
import { syntheticPopulation, type ChunkCounts, type SyntheticUser } from './synthetic-population.js';

export interface SyntheticBackupServerOptions {
  users: number;
  messagesPerUser: number;
  /** On disk (not tmpfs): ctl_backups and the scan should read real files. */
  parent: string;
  now: number;
  /** Default: 1 to MAX_CHUNKS per backed-up user. */
  chunkCounts?: ChunkCounts;
  /** A fixed folder under parent, which must not exist yet (a cache a later run reopens); default a fresh xbackup-bench-XXXXXX. */
  name?: string;
}

export interface SyntheticBackupServer {
  root: string;
  imapdConf: string;
  /** An xbackup-scheduler config whose backupd is this server. */
  schedulerConfig: string;
  /** Scratch space the benchmark's processes (some running as cyrus) may write to. */
  runDir: string;
  users: SyntheticUser[];
  remove(): void;
}

/**
 * A backup server as backupd leaves it, built without backupd: imapd.conf, a partition with one data file
 * and index per user (owner cyrus:mail, 0600, folders 0700), and backups.db written by Cyrus's cyr_dbtool.
 */
export async function buildSyntheticBackupServer(options: SyntheticBackupServerOptions): Promise<SyntheticBackupServer> {
  const { uid, gid } = cyrusAccount();
  assertReachableByCyrus(options.parent);
  const root = options.name === undefined ? mkdtempSync(join(options.parent, 'xbackup-bench-')) : join(options.parent, options.name);
  if (options.name !== undefined) mkdirSync(root);
  const server = syntheticServerAt(root, syntheticPopulation(options.users, options.now, options.chunkCounts));
  try {
    const paths = {
      imapdConf: server.imapdConf,
      configDirectory: join(root, 'conf'),
      partition: join(root, 'data'),
      template: join(root, 'template'),
      runDir: server.runDir,
    };
    for (const dir of [paths.configDirectory, paths.partition, paths.template, paths.runDir, join(root, 'stage'), join(root, 'tmp')]) {
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, uid, gid);
    }
    writeFileSync(paths.imapdConf, imapdConf(root), { mode: 0o640 });
    chownSync(paths.imapdConf, uid, gid);
    // Cyrus tools run as cyrus and must reach everything below the root.
    chownSync(root, uid, gid);
    chmodSync(root, 0o750);
    // maxAge as ctl_backups's -t 24 that the benchmark compares with.
    writeFileSync(server.schedulerConfig, `backupd:\n  imapdConf: ${paths.imapdConf}\nstate: ${join(root, 'state.db')}\npolicy:\n  maxAge: 24h\n`);

    const emptyIndex = await cyrusEmptyIndex(paths.imapdConf, paths.template);
    // One template per chunk count in the population, copied for every user with that many.
    const variants = new Map(
      [...new Set(server.users.map((u) => u.chunks))].map((chunks) => [
        chunks,
        writeBackupVariant(emptyIndex, join(paths.template, `chunks-${chunks}.index`), chunks, options.messagesPerUser),
      ]),
    );
    const entries = server.users.map((user) => [user.userid, writeUserBackup(paths.partition, user, variants.get(user.chunks)!, uid, gid)] as const);
    await writeBackupsDb(paths.imapdConf, join(paths.configDirectory, 'backups.db'), entries);
    return server;
  } catch (err) {
    server.remove();
    throw err;
  }
}

/** A synthetic server built in `root`, now or by an earlier run, whose population is `users`. */
export function syntheticServerAt(root: string, users: SyntheticUser[]): SyntheticBackupServer {
  return {
    root,
    imapdConf: join(root, 'imapd.conf'),
    schedulerConfig: join(root, 'xbackup-scheduler.yaml'),
    runDir: join(root, 'run'),
    users,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

function imapdConf(root: string): string {
  return [
    `configdirectory: ${join(root, 'conf')}`,
    `backuppartition-default: ${join(root, 'data')}`,
    'backup_db: twoskip',
    `backup_staging_path: ${join(root, 'stage')}`,
    `temp_path: ${join(root, 'tmp')}`,
    `servername: ${hostname()}`,
    // userids with a domain part, as on a server with virtual domains.
    'virtdomains: userid',
    '',
  ].join('\n');
}

/** The empty index Cyrus itself creates for a new backup: the schema and user_version of the installed Cyrus. */
async function cyrusEmptyIndex(conf: string, dir: string): Promise<string> {
  const dataFile = join(dir, 'cyrus-made_XXXXXX');
  const result = await runCyrusTool('ctl_backups', ['-C', conf, 'lock', '-c', '-x', 'true', '-f', dataFile]);
  if (result.code !== 0 || !existsSync(`${dataFile}.index`)) {
    throw new Error(`ctl_backups lock -c could not create a template backup (exit ${result.code}): ${result.stderr.trim()}`);
  }
  return `${dataFile}.index`;
}

/** Where backupd would put the user's data file: the partition's folder named by the userid's first letter. */
function writeUserBackup(partition: string, user: SyntheticUser, variant: BackupVariant, uid: number, gid: number): string {
  const dir = join(partition, user.userid[0]!.toLowerCase());
  if (!existsSync(dir)) {
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, uid, gid);
  }
  const dataFile = join(dir, `${user.userid}_${user.suffix}`);
  const indexFile = `${dataFile}.index`;
  writeFileSync(dataFile, variant.dataFile, { mode: 0o600 });
  copyFileSync(variant.indexFile, indexFile);
  if (user.lastBackup !== null) shiftChunkTimes(indexFile, user.lastBackup);
  for (const file of [dataFile, indexFile]) {
    chownSync(file, uid, gid);
    chmodSync(file, 0o600);
  }
  return dataFile;
}

function shiftChunkTimes(indexFile: string, lastBackup: number): void {
  const db = new Database(indexFile);
  try {
    // Nothing to keep safe on a scratch file: skip the journal's fsyncs.
    db.pragma('synchronous = OFF');
    db.pragma('journal_mode = MEMORY');
    db.prepare('UPDATE chunk SET ts_start = ts_start + ?, ts_end = ts_end + ?').run(lastBackup, lastBackup);
  } finally {
    db.close();
  }
}

/** `cyr_dbtool -n -T ... set` reads key TAB value lines from stdin, all in one transaction of a new database. */
async function writeBackupsDb(conf: string, backupsDb: string, entries: ReadonlyArray<readonly [string, string]>): Promise<void> {
  const input = entries.map(([userid, dataFile]) => `${userid}\t${dataFile}\n`).join('');
  const result = await runCyrusTool('cyr_dbtool', ['-C', conf, '-n', '-T', backupsDb, 'twoskip', 'set'], input);
  if (result.code !== 0) throw new Error(`cyr_dbtool could not write ${backupsDb} (exit ${result.code}): ${result.stderr.trim()}`);
}
