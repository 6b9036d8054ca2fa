import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { readChunkTableFromPages, type ChunkTablePages } from './chunk-table-from-pages.js';
import { BackupIndexError, type BackupIndexProblem } from './index-error.js';
import { NotPlainPages } from './sqlite-file/not-plain-pages.js';
import { rememberParsedSchema, SCHEMA_ROWS_SQL, schemaKeyOfRows } from './sqlite-file/schema-key.js';

/** What one user's backup index says, in the units the report shows. */
export interface BackupIndexSummary {
  /**
   * End of the newest chunk by id (ms since the epoch), what `ctl_backups list` shows; null when no chunk
   * exists. Not max(ts_end): one chunk stamped while a clock was ahead would otherwise speak for every later one.
   */
  lastBackup: number | null;
  /** Id of the newest chunk; null when no chunk exists. A backup is verified by a chunk id that did not exist before it. */
  newestChunkId: number | null;
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
// count(*) with max(ts_end) walks every row's record, as the page reader does, so damage anywhere in the
// chunk table is found by both; the newest chunk is then looked up by its rowid.
const SUMMARY_COLUMNS =
  'SELECT (SELECT user_version FROM pragma_user_version) AS version, count(*) AS chunks, max(ts_end) AS walked, ' +
  '(SELECT id FROM chunk ORDER BY id DESC LIMIT 1) AS newest, (SELECT ts_end FROM chunk ORDER BY id DESC LIMIT 1) AS last';
const SUMMARY_SQL = `${SUMMARY_COLUMNS} FROM chunk`;
const DETAIL_SQL =
  `${SUMMARY_COLUMNS}, (SELECT count(*) FROM message) AS messages, (SELECT count(*) FROM mailbox WHERE deleted IS NULL) AS mailboxes FROM chunk`;

/** ts_end is a time_t: anything past the year 9999 (or before 1970) is damage, not a date to compute with. */
const LATEST_TS_END = 253_402_300_799;

interface SummaryRow {
  version: number;
  chunks: number;
  newest: number | null;
  last: unknown;
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
      const file = indexFileOf(dataFile);
      return { lastBackup: chunkEnd(file, pages.newestId, pages.newestEnd), newestChunkId: pages.newestId, chunks: pages.chunks, dataBytes: dataFileSize(dataFile) };
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
    row = db.transaction(() => {
      const read = db.prepare(detail ? DETAIL_SQL : SUMMARY_SQL).get() as SummaryRow | DetailRow;
      rememberSchema(db);
      return read;
    })();
  } catch (err) {
    throw classify(file, err, db);
  } finally {
    db.close();
  }
  if (row.version < MIN_SCHEMA_VERSION) throw oldSchema(file, row.version);
  const summary = { lastBackup: chunkEnd(file, row.newest, row.last), newestChunkId: row.newest, chunks: row.chunks, dataBytes: dataFileSize(dataFile) };
  if (!detail) return summary;
  const { messages, mailboxes } = row as DetailRow;
  return { ...summary, messages, mailboxes };
}

/**
 * The schema SQLite has just parsed, read in the same transaction, so that the page reader may read the
 * next file with exactly these rows itself. Only UTF-8 rows are what the page reader compares them with.
 */
function rememberSchema(db: Database.Database): void {
  if (db.pragma('encoding', { simple: true }) !== 'UTF-8') return;
  const key = schemaKeyOfRows(db.prepare(SCHEMA_ROWS_SQL).raw().safeIntegers().all() as unknown[][]);
  if (key) rememberParsedSchema(key);
}

/**
 * The newest chunk's end in ms, validated where it is read: a value that is not a time makes this one user
 * unreadable, never a report that cannot print its dates.
 */
function chunkEnd(file: string, id: number | null, tsEnd: unknown): number | null {
  if (id === null) return null;
  if (typeof tsEnd !== 'number' || !Number.isInteger(tsEnd) || tsEnd < 0 || tsEnd > LATEST_TS_END) {
    const shown = tsEnd === null ? 'NULL' : JSON.stringify(String(tsEnd).slice(0, 40));
    throw new BackupIndexError(file, 'corrupt', `chunk ${id}'s ts_end is not a time: ${shown}`);
  }
  return tsEnd * 1000;
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
