// What the maintenance lane's integration tests do to a bed's backups, the way docs/cyrus-facts-maintenance.md
// found it works on Cyrus 3.6: damage a backup, give a user many chunks, hold a backup's lock, and clear a
// damage by a fresh backup to a new data file. Cyrus's files are touched as the bed's cyrus user and every
// file made stays under the bed's directory, which the bed removes when it stops.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { CyrusToolCommand } from '../../src/scheduler/maintenance/cyrus-tool.js';
import { releaseRoot } from '../cyrus/releases.js';
import type { CyrusTestBed, ProcessResult } from '../cyrus/testbed.js';

const CYRUS_BIN = '/usr/lib/cyrus/bin';

/**
 * How to run a program of backupd's release as its cyrus user, the way an admin's prefix would: runuser for
 * the host's Cyrus (the bed runs as root), chroot --userspec for a release in a Debian root, whose cyrus has
 * another uid (the bed's directory is bind-mounted into the root at the same path).
 */
export function bedCyrusPrefix(bed: CyrusTestBed): string[] {
  const root = releaseRoot(bed.releases.backup);
  return root === undefined ? ['/usr/sbin/runuser', '-u', 'cyrus', '--'] : ['/usr/sbin/chroot', `--userspec=${bed.backupAccount.uid}:${bed.backupAccount.gid}`, root];
}

/** The runner's command for the bed's ctl_backups, through bedCyrusPrefix. */
export function bedCyrusTool(bed: CyrusTestBed, timeoutMs = 600_000): CyrusToolCommand {
  return { prefix: bedCyrusPrefix(bed), ctlBackups: `${CYRUS_BIN}/ctl_backups`, imapdConf: bed.backup.confPath, timeoutMs };
}

/** A program run as the bed's cyrus user, to its end (no deadline: the test's own timeout bounds it). */
function runAsCyrus(bed: CyrusTestBed, argv: string[]): Promise<ProcessResult> {
  const [file, ...args] = [...bedCyrusPrefix(bed), ...argv];
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? 128, stdout, stderr: signal ? `${stderr}(killed by ${signal})` : stderr }));
  });
}

async function mustRun(bed: CyrusTestBed, argv: string[]): Promise<string> {
  const result = await runAsCyrus(bed, argv);
  if (result.code !== 0) throw new Error(`${argv.join(' ')} as cyrus exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** The user's data file, from backups.db (ctl_backups list would refuse a damaged backup). */
export async function dataFileOf(bed: CyrusTestBed, userid: string): Promise<string> {
  const file = (await bed.cyrDbtoolShowBackupsDb()).get(userid);
  if (file === undefined) throw new Error(`${userid} has no backup in ${bed.backup.backupsDbPath}`);
  return file;
}

/** One XBACKUP of the user, which must answer OK. */
async function xbackupOk(bed: CyrusTestBed, userid: string): Promise<void> {
  const answer = await bed.xbackup(bed.mailboxName(userid));
  if (answer.status !== 'OK') throw new Error(`XBACKUP of ${userid} answered ${answer.status} ${answer.text} (${answer.untagged.join(' | ')})`);
}

/**
 * Flips a byte of the gzip trailer of the user's last chunk, in place (the file stays cyrus's): `ctl_backups
 * verify` then says `failed (Unknown code ____ 255)`, at once (bytes flipped inside deflate data can make
 * it loop instead), and backupd refuses the user's XBACKUPs. Returns the data file.
 */
export async function damageLastChunk(bed: CyrusTestBed, userid: string): Promise<string> {
  const file = await dataFileOf(bed, userid);
  const bytes = readFileSync(file);
  bytes[bytes.length - 3]! ^= 0xff;
  writeFileSync(file, bytes);
  return file;
}

/** `n` XBACKUPs of the user in a row, each answered OK: each appends a chunk, even with nothing new. */
export async function giveChunks(bed: CyrusTestBed, userid: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await xbackupOk(bed, userid);
}

export interface ChunkRow {
  id: number;
  tsEnd: number;
}

/** The chunks of a data file's index, read-only, in id order (the scheduler's last backup is the last one's ts_end). */
export function chunkRows(dataFile: string): ChunkRow[] {
  const db = new Database(`${dataFile}.index`, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, ts_end AS tsEnd FROM chunk ORDER BY id').all() as ChunkRow[];
  } finally {
    db.close();
  }
}

export interface FreshBackup {
  /** The damaged data file as backups.db named it; it and its index are now in `aside`. */
  previous: string;
  /** The new data file backupd wrote for the user: same folder, a new random suffix. */
  fresh: string;
  aside: string;
}

/**
 * What clears a damaged backup on Cyrus 3.6 (docs/cyrus-facts-maintenance.md): remove the user's key from
 * backups.db (`cyr_dbtool <backups.db> twoskip delete <userid>`: 3.6 has no ctl_backups verb for it, and
 * `ctl_backups lock` refuses a damaged backup), move its data file and index aside, and XBACKUP the user,
 * which then writes a whole new backup to a new data file. As cyrus; `aside` is under the bed's backup folder.
 */
export async function replaceWithFreshBackup(bed: CyrusTestBed, userid: string): Promise<FreshBackup> {
  const previous = await dataFileOf(bed, userid);
  const aside = join(dirname(bed.backup.dataDir), 'aside');
  await mustRun(bed, [`${CYRUS_BIN}/cyr_dbtool`, '-C', bed.backup.confPath, bed.backup.backupsDbPath, 'twoskip', 'delete', userid]);
  await mustRun(bed, ['/bin/mkdir', '-p', aside]);
  await mustRun(bed, ['/bin/mv', '--', previous, `${previous}.index`, `${aside}/`]);
  await xbackupOk(bed, userid);
  const fresh = await dataFileOf(bed, userid);
  if (fresh === previous) throw new Error(`backupd wrote ${userid}'s fresh backup to the old path ${previous}`);
  return { previous, fresh, aside: join(aside, basename(previous)) };
}

export interface HeldLock {
  /** Ends `ctl_backups lock` (closes its stdin) and waits until it has exited. */
  release(): Promise<void>;
}

/**
 * Run by `ctl_backups lock -x` while it holds the lock: says so at once, then holds until stdin closes.
 * (`lock -p` would do, but its `OK locked` sits in stdio's buffer until it exits when stdout is a pipe.)
 */
const HOLD = 'echo locked; exec cat >/dev/null';

/**
 * `ctl_backups lock -u -x <HOLD> <userid>` as cyrus, resolved once the lock is held: the lock compact and
 * verify take, so meanwhile backupd answers that user's XBACKUP `NO USER <userid> (Mailbox is locked)` and
 * ctl_backups says `locked`. Rejects with what it printed if it ends without the lock.
 */
export function holdBackupLock(bed: CyrusTestBed, userid: string): Promise<HeldLock> {
  const [file, ...args] = [...bedCyrusPrefix(bed), `${CYRUS_BIN}/ctl_backups`, '-C', bed.backup.confPath, '-u', '-x', HOLD, '--', 'lock', userid];
  const child = spawn(file!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    let stdout = '';
    let printed = '';
    child.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (/^locked$/m.test(stdout)) {
        resolve({
          release: async () => {
            child.stdin.end();
            await exited;
          },
        });
      }
    });
    child.once('error', reject);
    void exited.then(() => reject(new Error(`ctl_backups lock ${userid} ended without the lock: ${`${stdout}${printed}`.trim()}`)));
  });
}
