// What the fault tests of this folder look at after a fault: the report as a user reads it, the
// state database's attempts, and the backup index itself (how much mail it really holds).
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CyrusTestBed } from '../../cyrus/testbed.js';
import { parseCtlBackupsJsonList } from '../../support/ctl-backups-list.js';
import { runCliProcess } from '../../support/run-cli.js';
import { readAttempts, type AttemptRow } from '../../support/state-db-reader.js';
import { waitFor } from '../../support/wait-for.js';

export interface ReportUser {
  userid: string;
  state: string;
  server: string | null;
  ageSeconds: number | null;
  lastBackup: string | null;
  error: string | null;
  lastAttempt: { startedAt: string; outcome: string; error: string | null } | null;
}

/** `report --json`, as a monitoring script would read it. */
export async function reportUsers(config: string, extraArgs: readonly string[] = []): Promise<ReportUser[]> {
  const r = await runCliProcess(['report', '--json', ...extraArgs, '-c', config]);
  assert.equal(r.code, 0, `report failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { users: ReportUser[] }).users;
}

/**
 * An attempt a fault left open, as the next start closes it: interrupted, or, once the IMAP server's own
 * finish showed as a new chunk in the index, the success it was (settled).
 */
export function closedAsInterrupted(a: { outcome: string | null; in_doubt?: number; error: string | null } | undefined): boolean {
  return a?.outcome === 'interrupted' || (a?.outcome === 'ok' && /settled: the server finished it/.test(a.error ?? ''));
}

/** The attempts so far, or none while the state database does not exist yet. */
export function attemptsSoFar(stateFile: string): AttemptRow[] {
  try {
    return readAttempts(stateFile);
  } catch {
    return [];
  }
}

/** Messages in a user's backup index (read-only): what a restore would bring back. */
export async function messagesInBackup(bed: CyrusTestBed, userid: string): Promise<number> {
  const dataFile = (await bed.cyrDbtoolShowBackupsDb()).get(userid);
  assert.ok(dataFile, `${userid} has no entry in backups.db`);
  const db = new Database(`${dataFile}.index`, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM message').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Backupd's own view (`ctl_backups -j list`), which verifies each backup's checksums as it lists it. */
export async function ctlBackupsList(bed: CyrusTestBed): Promise<Map<string, number | null>> {
  const r = await bed.ctlBackups(['-j', 'list']);
  assert.equal(r.code, 0, `ctl_backups -j list exited ${r.code}: ${r.stderr}`);
  return new Map(parseCtlBackupsJsonList(r.stdout).map((e) => [e.userid, e.timestamp]));
}

/**
 * Messages backupd has staged for the replication it is receiving. It stages them about a thousand
 * at a time before writing them to the data file, so a few hundred means a transfer is well under way.
 */
export function stagedFiles(bed: CyrusTestBed): number {
  try {
    return readdirSync(bed.backup.stagingDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
  } catch {
    return 0;
  }
}

/** Size of a user's data file, found in backupd's partition as it is being written (0 before it exists). */
export function dataFileBytes(bed: CyrusTestBed, userid: string): number {
  const dir = join(bed.backup.dataDir, userid[0]!);
  const name = (existsSync(dir) ? readdirSync(dir) : []).find((f) => f.startsWith(`${userid}_`) && !f.endsWith('.index') && !f.includes('.index-'));
  return name ? statSync(join(dir, name)).size : 0;
}

/**
 * Connections a Cyrus service on `port` still serves (ESTABLISHED, or CLOSE_WAIT: the client is gone but the
 * server has not finished with it), from /proc/net/tcp. imapd notices a vanished client only when its
 * command ends, and backupd commits a chunk when imapd's replication connection closes: none left means
 * every XBACKUP that reached the server has finished and left its chunk.
 */
export function connectionsServedOn(port: number): number {
  const servedStates = new Set(['01', '08']);
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = existsSync(table) ? readFileSync(table, 'utf8') : '';
    for (const line of text.split('\n').slice(1)) {
      const [, local, , st] = line.trim().split(/\s+/);
      if (local && st && servedStates.has(st) && Number.parseInt(local.split(':')[1]!, 16) === port) n++;
    }
  }
  return n;
}

/** Until no XBACKUP is left on the bed's servers (their clients gone): what it did is then all in the indexes. */
export async function serversIdle(bed: CyrusTestBed): Promise<void> {
  const ports = [bed.imap.port, ...(bed.imap2 ? [bed.imap2.port] : []), bed.backup.port];
  await waitFor(() => ports.every((p) => connectionsServedOn(p) === 0), {
    what: 'the Cyrus servers to finish the connections they serve',
    timeoutMs: 120_000,
    intervalMs: 50,
    describe: () => ports.map((p) => `port ${p}: ${connectionsServedOn(p)}`).join(', '),
  });
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
