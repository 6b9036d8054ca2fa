// What one user's backup says (its newest chunk, its chunk count, its mailboxes, its data file's size):
// read from the index's pages when they are settled, by SQLite otherwise, and checked against the data file.
import type Database from 'better-sqlite3';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { isAccessDenied, whereDenied } from '../config/read-access.js';
import { readIndexPages, type IndexPages } from './index-pages.js';
import { fingerprintOfStats, type FileFingerprint } from './file-fingerprint.js';
import { BackupIndexError, type BackupIndexProblem } from './index-error.js';
import { indexFileOf, openIndexDatabase, withIndexDescriptor, type OpenIndex } from './index-file.js';
import { MailboxRows } from './mailbox-rows.js';
import { NotPlainPages } from './sqlite-file/not-plain-pages.js';
import { rememberParsedSchema, SCHEMA_ROWS_SQL } from './sqlite-file/parsed-schemas.js';

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
  /** The mailboxes not deleted, in encodeBackedUpMailboxes's text (what crosses threads and the scan cache as it is). */
  mailboxes: string;
}

/** The summary plus a count that walks the index's largest table: for a closer look at a few indexes, never for a scan. */
export interface BackupIndexDetail extends BackupIndexSummary {
  messages: number;
}

/** Cyrus 3.6 writes user_version 3; later 3.x releases only add to it. */
const MIN_SCHEMA_VERSION = 3;

// One statement per index: on a fresh connection each prepare makes SQLite parse the whole schema,
// and a scan opens every index, so the version check rides along instead of costing a pragma.
// count(*) with max(ts_end) walks every row's record, as the page reader does, so damage anywhere in the
// chunk table is found by both; the newest chunk is then looked up by its rowid.
const NEWEST = 'FROM chunk ORDER BY id DESC LIMIT 1';
const SUMMARY_COLUMNS =
  'SELECT (SELECT user_version FROM pragma_user_version) AS version, count(*) AS chunks, max(ts_end) AS walked, ' +
  `(SELECT id ${NEWEST}) AS newest, (SELECT ts_end ${NEWEST}) AS last, (SELECT offset ${NEWEST}) AS offset, (SELECT length ${NEWEST}) AS length`;
const SUMMARY_SQL = `${SUMMARY_COLUMNS} FROM chunk`;
const DETAIL_SQL = `${SUMMARY_COLUMNS}, (SELECT count(*) FROM message) AS messages FROM chunk`;
/** Read with safe integers (bigint), so that an error shows a value past 2^53 as it is stored. */
const MAILBOX_SQL = 'SELECT id, mboxname, uidvalidity, last_uid, highestmodseq FROM mailbox WHERE deleted IS NULL ORDER BY id';

/** ts_end is a time_t: anything past the year 9999 (or before 1970) is damage, not a date to compute with. */
const LATEST_TS_END = 253_402_300_799;

/** Cyrus writes each chunk as a gzip member of its own (deflate): the data file must start one where the newest chunk does. */
const GZIP_MEMBER_START = Buffer.from([0x1f, 0x8b, 0x08]);
/** A gzip member's header and trailer, around its deflate data. */
const GZIP_FRAMING = 18;
/**
 * chunk.length counts the chunk's bytes uncompressed, so offset + length is past the end of any data file
 * whose mail compresses. Deflate codes at best 258 bytes in 2 bits (a 1-bit length code and a 1-bit
 * distance code) and takes 2 bytes at least: a chunk of `length` bytes takes at least this much of the file.
 */
const leastChunkBytes = (length: number): number => GZIP_FRAMING + Math.max(2, Math.ceil(length / 1032));
const memberStart = Buffer.alloc(GZIP_MEMBER_START.length);

/** The chunk table as read, by the pages or by SQLite, before its values are validated; the mailbox table's live rows. */
interface IndexRows {
  chunks: number;
  newest: number | null;
  last: unknown;
  offset: unknown;
  length: unknown;
  mailboxes: MailboxRows;
}

interface SummaryRow extends IndexRows {
  version: number;
}

interface DetailRow extends SummaryRow {
  messages: number;
}

/** A summary, and the data file as it was before it was read: a scan keeps it while neither file moves. */
export interface BackupRead {
  summary: BackupIndexSummary;
  data: FileFingerprint;
}

/**
 * Reads a user's backup without ever writing: its index, and where the index says its newest chunk is,
 * its data file. The summary comes from the chunk and mailbox tables' pages when they are settled (see
 * readIndexPages) and the page reader is not turned off; otherwise, and for the detail, from
 * SQLite: opened read-only, never created, and with a short busy timeout so a backup in progress makes
 * this user "try again later" instead of stalling the scan.
 */
export function readBackupIndex(dataFile: string, options?: { pageReader?: boolean | undefined }): BackupIndexSummary;
export function readBackupIndex(dataFile: string, options: { detail: true }): BackupIndexDetail;
export function readBackupIndex(
  dataFile: string,
  options?: { detail: true } | { pageReader?: boolean | undefined },
): BackupIndexSummary | BackupIndexDetail {
  if (options === undefined || !('detail' in options)) return readBackup(dataFile, indexPages(indexFileOf(dataFile), options?.pageReader ?? true)).summary;
  const row = sqliteRows(indexFileOf(dataFile), DETAIL_SQL) as DetailRow;
  return { ...summarize(dataFile, row).summary, messages: row.messages };
}

const PAGE_READER_OFF = new NotPlainPages('the page reader is turned off (backupd.pageReader: false)');

/** Where the page reader is chosen: the pages as read, or, when it is turned off, no read at all (SQLite's turn). */
export function indexPages(indexFile: string, pageReader: boolean): IndexPages | NotPlainPages {
  return pageReader ? readIndexPages(indexFile) : PAGE_READER_OFF;
}

/** readBackupIndex's summary from `pages` (a read of them, or why there is none), with the fingerprint of the data file it read. */
export function readBackup(dataFile: string, pages: IndexPages | NotPlainPages): BackupRead {
  // An older schema is left to SQLite, whose read says what it lacks.
  if (!(pages instanceof NotPlainPages) && pages.userVersion >= MIN_SCHEMA_VERSION) {
    const { chunks, newestId: newest, newestEnd: last, newestOffset: offset, newestLength: length, mailboxes } = pages;
    return summarize(dataFile, { chunks, newest, last, offset, length, mailboxes });
  }
  return summarize(dataFile, sqliteRows(indexFileOf(dataFile), SUMMARY_SQL));
}

function sqliteRows(file: string, sql: string): SummaryRow {
  let opened: OpenIndex;
  try {
    opened = openIndexDatabase(file);
  } catch (err) {
    if (err instanceof BackupIndexError) throw err;
    throw classify(file, err);
  }
  const { db } = opened;
  let row: SummaryRow;
  try {
    row = db.transaction(() => {
      const read = db.prepare(sql).get() as Omit<SummaryRow, 'mailboxes'>;
      const mailboxes = new MailboxRows();
      for (const [id, name, uidvalidity, lastUid, modseq] of db.prepare(MAILBOX_SQL).raw().safeIntegers().all() as Array<[bigint, ...unknown[]]>) {
        mailboxes.add(id, name, uidvalidity, lastUid, modseq);
      }
      rememberSchema(db);
      return { ...read, mailboxes };
    })();
  } catch (err) {
    throw classify(file, err, db);
  } finally {
    opened.close();
  }
  if (row.version < MIN_SCHEMA_VERSION) throw oldSchema(file, row.version);
  return row;
}

/** The index's rows validated where they are read, then checked against the data file. */
function summarize(dataFile: string, rows: IndexRows): BackupRead {
  const file = indexFileOf(dataFile);
  const lastBackup = chunkEnd(file, rows.newest, rows.last);
  const newest = rows.newest === null ? null : chunkPlace(file, rows.newest, rows.offset, rows.length);
  const mailboxes = rows.mailboxes.encoded(file);
  const data = readDataFile(dataFile, file, newest);
  return { summary: { lastBackup, newestChunkId: rows.newest, chunks: rows.chunks, dataBytes: data.size, mailboxes }, data };
}

/**
 * The schema SQLite has just parsed, read in the same transaction, so that the page reader may read the
 * next file with exactly these rows itself (it reads UTF-8 files only: other rows would never match).
 */
function rememberSchema(db: Database.Database): void {
  if (db.pragma('encoding', { simple: true }) !== 'UTF-8') return;
  rememberParsedSchema(db.prepare(SCHEMA_ROWS_SQL).raw().safeIntegers().all() as unknown[][]);
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
  // An empty file has no schema at all: its backup lost its index, which Cyrus can rebuild.
  if (version === 0 && statSync(file, { throwIfNoEntry: false })?.size === 0) {
    return new BackupIndexError(file, 'schema', 'is empty: this backup has lost its index; `ctl_backups reindex <userid>` as the cyrus user rebuilds it from the data file');
  }
  return new BackupIndexError(file, 'schema', `index schema version ${version}, expected ${MIN_SCHEMA_VERSION} or later`);
}

interface ChunkPlace {
  id: number;
  offset: number;
  length: number;
}

/** Where the newest chunk is in the data file, validated as its ts_end is. */
function chunkPlace(file: string, id: number, offset: unknown, length: unknown): ChunkPlace {
  for (const [name, value] of [['offset', offset], ['length', length]] as const) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      const shown = value === null ? 'NULL' : JSON.stringify(String(value).slice(0, 40));
      throw new BackupIndexError(file, 'corrupt', `chunk ${id}'s ${name} is not a byte count: ${shown}`);
    }
  }
  return { id, offset: offset as number, length: length as number };
}

/**
 * The data file's fingerprint, taken before it is read; and, when the index has a chunk, the newest one
 * must be in it: a file shorter than that chunk can be, or without a gzip member where it starts, is not
 * the backup its index describes (truncated, replaced, or overwritten).
 */
function readDataFile(dataFile: string, indexFile: string, newest: ChunkPlace | null): FileFingerprint {
  let fd: number;
  try {
    fd = openSync(dataFile, 'r');
  } catch (err) {
    throw dataFileError(dataFile, err);
  }
  try {
    const st = fstatSync(fd);
    if (newest) {
      const { id, offset, length } = newest;
      const least = leastChunkBytes(length);
      if (st.size < offset + least) {
        throw new BackupIndexError(
          dataFile,
          'data-damaged',
          `the data file is truncated: ${st.size} bytes, but ${indexFile} has its newest chunk (${id}) start at byte ${offset} and take at least ${least} bytes (${length} uncompressed)`,
        );
      }
      if (readSync(fd, memberStart, 0, memberStart.length, offset) !== memberStart.length || !memberStart.equals(GZIP_MEMBER_START)) {
        throw new BackupIndexError(dataFile, 'data-damaged', `no gzip member at byte ${offset}, where ${indexFile} has its newest chunk (${id}) start: the data file was replaced or overwritten`);
      }
    }
    return fingerprintOfStats(st);
  } catch (err) {
    throw err instanceof BackupIndexError ? err : dataFileError(dataFile, err);
  } finally {
    closeSync(fd);
  }
}

function dataFileError(dataFile: string, err: unknown): BackupIndexError {
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') throw err;
  if (isAccessDenied(err)) return new BackupIndexError(dataFile, 'permission', `backup data file: permission denied: ${whereDenied(dataFile)}`);
  const problem: BackupIndexProblem = code === 'ENOENT' ? 'data-missing' : 'data-damaged';
  return new BackupIndexError(dataFile, problem, `backup data file: ${code}`);
}

/** `db` is still open when the statement failed: a file lacking the tables may be an older schema, which says more. */
function classify(file: string, err: unknown, db?: Database.Database): BackupIndexError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const message = e.message ?? String(err);
  let problem: BackupIndexProblem = 'corrupt';
  // Opening the index's folder (openIndexDatabase) failed.
  if (isAccessDenied(err)) return new BackupIndexError(file, 'permission', `permission denied: ${whereDenied(file)}`);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new BackupIndexError(file, 'missing', message);
  if (code === 'SQLITE_CANTOPEN') return cannotOpen(file, message);
  // A hot journal: a writer stopped mid-transaction, and only a writer may roll it back. (stat, not access(2),
  // which ignores the capability the scheduler may read with.)
  if (code.startsWith('SQLITE_READONLY') && statSync(`${file}-journal`, { throwIfNoEntry: false })) {
    return new BackupIndexError(file, 'locked', 'is being recovered: a writer stopped in the middle of a transaction (its -journal is still there), and Cyrus rolls it back the next time it opens this backup');
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_BUSY_')) problem = 'locked';
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

/**
 * SQLite says only "unable to open database file": opening it here says why. A refusal names the path
 * that refused (the index, or a directory on its way), never a damaged file.
 */
function cannotOpen(file: string, message: string): BackupIndexError {
  try {
    withIndexDescriptor(file, () => undefined);
  } catch (err) {
    if (isAccessDenied(err)) return new BackupIndexError(file, 'permission', `permission denied: ${whereDenied(file)}`);
    return new BackupIndexError(file, 'missing', message);
  }
  return new BackupIndexError(file, 'permission', message);
}
