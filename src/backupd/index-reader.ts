import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { BackupIndexError, type BackupIndexProblem } from './index-error.js';

/** What one user's backup index says, in the units the report shows. */
export interface BackupIndexSummary {
  /** End of the latest chunk (ms since the epoch), what `ctl_backups list` shows; null when no chunk exists. */
  lastBackup: number | null;
  chunks: number;
  messages: number;
  mailboxes: number;
  /** Size of the backup data file on disk. */
  dataBytes: number;
}

export const indexFileOf = (dataFile: string): string => `${dataFile}.index`;

/** Cyrus 3.6 writes user_version 3; later 3.x releases only add to it. */
const MIN_SCHEMA_VERSION = 3;

/**
 * Reads a user's backup index without ever writing: opened read-only, never created, and with a short
 * busy timeout so a backup in progress makes this user "try again later" instead of stalling the scan.
 */
export function readBackupIndex(dataFile: string): BackupIndexSummary {
  const file = indexFileOf(dataFile);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 250 });
  } catch (err) {
    throw classify(file, err);
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version < MIN_SCHEMA_VERSION) {
      throw new BackupIndexError(file, 'schema', `index schema version ${version}, expected ${MIN_SCHEMA_VERSION} or later`);
    }
    const chunk = db.prepare('SELECT count(*) AS n, max(ts_end) AS last FROM chunk').get() as { n: number; last: number | null };
    const messages = (db.prepare('SELECT count(*) AS n FROM message').get() as { n: number }).n;
    const mailboxes = (db.prepare('SELECT count(*) AS n FROM mailbox WHERE deleted IS NULL').get() as { n: number }).n;
    return {
      lastBackup: chunk.last === null ? null : chunk.last * 1000,
      chunks: chunk.n,
      messages,
      mailboxes,
      dataBytes: dataFileSize(dataFile),
    };
  } catch (err) {
    throw classify(file, err);
  } finally {
    db.close();
  }
}

function dataFileSize(dataFile: string): number {
  try {
    return statSync(dataFile).size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BackupIndexError(dataFile, code === 'EACCES' ? 'permission' : 'missing', `backup data file: ${code ?? String(err)}`);
  }
}

function classify(file: string, err: unknown): BackupIndexError {
  if (err instanceof BackupIndexError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const message = e.message ?? String(err);
  let problem: BackupIndexProblem = 'corrupt';
  if (code === 'SQLITE_CANTOPEN') problem = accessProblem(file);
  else if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_BUSY_')) problem = 'locked';
  else if (code === 'SQLITE_ERROR' && /no such (table|column)/.test(message)) problem = 'schema';
  else if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) problem = 'corrupt';
  return new BackupIndexError(file, problem, message);
}

function accessProblem(file: string): BackupIndexProblem {
  try {
    statSync(file);
    return 'permission';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'permission' : 'missing';
  }
}
