import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { readChunkTableFromPages, type ChunkTablePages } from './chunk-table-from-pages.js';
import { BackupIndexError, type BackupIndexProblem } from './index-error.js';
import { NotPlainPages } from './sqlite-file/not-plain-pages.js';

/** What one user's backup index says, in the units the report shows. */
export interface BackupIndexSummary {
  /** End of the latest chunk (ms since the epoch), what `ctl_backups list` shows; null when no chunk exists. */
  lastBackup: number | null;
  chunks: number;
  /** Size of the backup data file on disk. */
  dataBytes: number;
}

/** The summary plus counts that walk the index's larger tables: for a closer look at a few indexes, never for a scan. */
export interface BackupIndexDetail extends BackupIndexSummary {
  messages: number;
  /** Mailboxes not deleted. */
  mailboxes: number;
}

export const indexFileOf = (dataFile: string): string => `${dataFile}.index`;

/** Cyrus 3.6 writes user_version 3; later 3.x releases only add to it. */
const MIN_SCHEMA_VERSION = 3;

// One statement per index: on a fresh connection each prepare makes SQLite parse the whole schema,
// and a scan opens every index, so the version check rides along instead of costing a pragma.
const SUMMARY_SQL = 'SELECT (SELECT user_version FROM pragma_user_version) AS version, count(*) AS chunks, max(ts_end) AS last FROM chunk';
const DETAIL_SQL =
  'SELECT (SELECT user_version FROM pragma_user_version) AS version, count(*) AS chunks, max(ts_end) AS last, ' +
  '(SELECT count(*) FROM message) AS messages, (SELECT count(*) FROM mailbox WHERE deleted IS NULL) AS mailboxes FROM chunk';

interface SummaryRow {
  version: number;
  chunks: number;
  last: number | null;
}

interface DetailRow extends SummaryRow {
  messages: number;
  mailboxes: number;
}

/**
 * Reads a user's backup index without ever writing. The summary comes from the chunk table's pages when
 * they are settled (see readChunkTableFromPages); otherwise, and for the detail, from SQLite: opened
 * read-only, never created, and with a short busy timeout so a backup in progress makes this user
 * "try again later" instead of stalling the scan. `pages` is a read of the pages the caller already made.
 */
export function readBackupIndex(dataFile: string, options?: { pages: ChunkTablePages | NotPlainPages }): BackupIndexSummary;
export function readBackupIndex(dataFile: string, options: { detail: true }): BackupIndexDetail;
export function readBackupIndex(
  dataFile: string,
  options?: { detail: true } | { pages: ChunkTablePages | NotPlainPages },
): BackupIndexSummary | BackupIndexDetail {
  const detail = options !== undefined && 'detail' in options;
  if (!detail) {
    const pages = options?.pages ?? readChunkTableFromPages(indexFileOf(dataFile));
    // An older schema is left to SQLite, whose read says what it lacks.
    if (!(pages instanceof NotPlainPages) && pages.userVersion >= MIN_SCHEMA_VERSION) {
      return { lastBackup: pages.lastEnd === null ? null : pages.lastEnd * 1000, chunks: pages.chunks, dataBytes: dataFileSize(dataFile) };
    }
  }
  const file = indexFileOf(dataFile);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 250 });
  } catch (err) {
    throw classify(file, err);
  }
  let row: SummaryRow | DetailRow;
  try {
    row = db.prepare(detail ? DETAIL_SQL : SUMMARY_SQL).get() as SummaryRow | DetailRow;
  } catch (err) {
    throw classify(file, err, db);
  } finally {
    db.close();
  }
  if (row.version < MIN_SCHEMA_VERSION) throw oldSchema(file, row.version);
  // SQLite's max() ranks text above every number: one chunk whose ts_end is not a number wins it.
  if (row.last !== null && typeof row.last !== 'number') {
    throw new BackupIndexError(file, 'corrupt', `a chunk's ts_end is not a time: ${JSON.stringify(String(row.last).slice(0, 40))}`);
  }
  const summary = { lastBackup: row.last === null ? null : row.last * 1000, chunks: row.chunks, dataBytes: dataFileSize(dataFile) };
  if (!detail) return summary;
  const { messages, mailboxes } = row as DetailRow;
  return { ...summary, messages, mailboxes };
}

function oldSchema(file: string, version: number): BackupIndexError {
  return new BackupIndexError(file, 'schema', `index schema version ${version}, expected ${MIN_SCHEMA_VERSION} or later`);
}

function dataFileSize(dataFile: string): number {
  try {
    return statSync(dataFile).size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BackupIndexError(dataFile, code === 'EACCES' ? 'permission' : 'missing', `backup data file: ${code ?? String(err)}`);
  }
}

/** `db` is still open when the statement failed: a file lacking the tables may be an older schema, which says more. */
function classify(file: string, err: unknown, db?: Database.Database): BackupIndexError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const message = e.message ?? String(err);
  let problem: BackupIndexProblem = 'corrupt';
  if (code === 'SQLITE_CANTOPEN') problem = accessProblem(file);
  else if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_BUSY_')) problem = 'locked';
  else if (code === 'SQLITE_ERROR' && /no such (table|column)/.test(message)) {
    const version = db && schemaVersionOf(db);
    if (version !== undefined && version < MIN_SCHEMA_VERSION) return oldSchema(file, version);
    problem = 'schema';
  } else if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) problem = 'corrupt';
  return new BackupIndexError(file, problem, message);
}

function schemaVersionOf(db: Database.Database): number | undefined {
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } catch {
    return undefined;
  }
}

function accessProblem(file: string): BackupIndexProblem {
  try {
    statSync(file);
    return 'permission';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'permission' : 'missing';
  }
}
