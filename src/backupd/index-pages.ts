import { fstatSync, readSync, statSync } from 'node:fs';
import { fingerprintOfStats, sameFingerprint, type FileFingerprint } from './file-fingerprint.js';
import { withIndexDescriptor } from './index-file.js';
import type { MailboxRows } from './mailbox-rows.js';
import { readMailboxTableFromPages } from './mailbox-table-from-pages.js';
import { HEADER_BYTES, parseDatabaseHeader } from './sqlite-file/database-header.js';
import { NotPlainPages } from './sqlite-file/not-plain-pages.js';
import { PageCursor } from './sqlite-file/page-cursor.js';
import { PageFile } from './sqlite-file/page-file.js';
import { integerOrNull, serialTypeSize } from './sqlite-file/record.js';
import { matchParsedSchema } from './sqlite-file/schema-table.js';
import { forEachTableRow } from './sqlite-file/table-btree.js';

/**
 * The chunk table's count and its newest chunk (by id, as `ctl_backups list` shows it), the mailbox
 * table's live rows, and `PRAGMA user_version`, read from the pages.
 */
export interface IndexPages {
  /** Of the file as it was opened, before anything was read from it. */
  fingerprint: FileFingerprint;
  userVersion: number;
  chunks: number;
  /** The largest chunk id; null without a chunk. */
  newestId: number | null;
  /** That chunk's ts_end in seconds, as stored (validated by the caller); null without a chunk or when it is NULL. */
  newestEnd: number | null;
  /** Where that chunk starts in the data file, and its length uncompressed, as stored (validated by the caller); null as newestEnd. */
  newestOffset: number | null;
  newestLength: number | null;
  /** As read, each validated (a bad one is reported by the caller, after the chunk table's values). */
  mailboxes: MailboxRows;
}

/**
 * Cyrus's chunk table, as Cyrus 3.x creates it: the rowid is the chunk id, then ts_start, ts_end, offset
 * and length, none with a default (a column missing from a short record is NULL). Any other definition
 * is left to SQLite.
 */
const CYRUS_CHUNK_TABLE =
  /^CREATE TABLE chunk\s*\(\s*id INTEGER PRIMARY KEY ASC\s*,\s*ts_start INTEGER\s*,\s*ts_end INTEGER\s*,\s*offset INTEGER(\s+UNIQUE)?\s*,\s*length INTEGER\s*,[^]*\)\s*$/i;
/** The record's columns read: id (stored as NULL: it is the rowid), ts_start, ts_end, offset, length. */
const READ_COLUMNS = 5;

/** Reused from file to file: a scan reads a hundred thousand of them. */
/**
 * The first read asks for more than the header: from a cold page cache Linux reads ahead four times what a
 * file's first read asks (get_init_ra_size), and these 8 KiB bring in the pages up to the mailbox table's
 * root (page 7 of 4096 bytes in every index Cyrus creates), which a 100-byte read leaves to a second wait.
 */
const FIRST_READ_BYTES = 8192;
const firstRead = Buffer.allocUnsafe(FIRST_READ_BYTES);
const headerFirst = firstRead.subarray(0, HEADER_BYTES);
const headerAgain = Buffer.allocUnsafe(HEADER_BYTES);
const cursor = new PageCursor();
/** ts_end, offset and length of the row last decoded. */
const row: [number | null, number | null, number | null] = [null, null, null];

/**
 * The chunk table's count and newest chunk, and the mailbox table's live rows (see
 * mailbox-table-from-pages.ts), read straight from the index's pages: a scan opens every index,
 * and a SQLite connection's setup (open, schema parse, close) costs several times the read itself.
 *
 * No lock is taken, so the read proves instead that no write overlapped it. In rollback-journal mode a
 * writer changes the database file only while its journal exists, and every commit changes the header's
 * change counter. So: the header is read; then no journal (nor WAL) may exist; then the pages are read;
 * then still no journal; then the header must be as first read. A write that overlapped the page reads
 * belongs to a transaction that began after the first check, so it either still has its journal or has
 * committed and changed the header. The one write that leaves the header as it was, a transaction that
 * spilled pages and rolled back, would have to begin and end within this read of microseconds; the
 * file's mtime and ctime, compared last, catch it too wherever the kernel's timestamps are fine-grained.
 *
 * SQLite parses every row of the schema before any query, and refuses the whole file over one it cannot
 * parse. Rather than parse SQL, the pages are read only where the schema's rows are exactly rows SQLite
 * has parsed before in this thread (see parsed-schemas.ts): so the first index of each schema is read by
 * SQLite, and a damaged schema always is.
 *
 * Returns NotPlainPages instead for anything else — a write in progress, WAL mode, another schema, a
 * structure it does not trust, a file it cannot open — and the caller asks SQLite, which locks and
 * explains errors.
 */
export function readIndexPages(indexFile: string): IndexPages | NotPlainPages {
  try {
    // Safe only because nothing in this process holds SQLite's lock on this file now (see index-file.ts).
    return withIndexDescriptor(indexFile, (fd) => readPages(indexFile, fd));
  } catch (err) {
    return declined(err);
  }
}

function readPages(indexFile: string, fd: number): IndexPages {
  const before = fstatSync(fd);
  if (readSync(fd, firstRead, 0, FIRST_READ_BYTES, 0) < HEADER_BYTES) throw new NotPlainPages('shorter than a header');
  const header = parseDatabaseHeader(headerFirst, before.size);
  if (mayExist(`${indexFile}-journal`) || mayExist(`${indexFile}-wal`)) throw new NotPlainPages('a journal is present');
  const file = new PageFile(fd, header, before.size);
  if (!file.startsWith(headerFirst)) throw new NotPlainPages('written while it was read');
  const schema = matchParsedSchema(file);
  const table = schema.chunk;
  if (!table || table.rootPage < 2 || !CYRUS_CHUNK_TABLE.test(table.sql)) throw new NotPlainPages('not the chunk table Cyrus creates');
  // Rows come in rising rowid (= chunk id) order: the last one decoded is the newest chunk's. Every
  // row is decoded, as SQLite reads every row's ts_end, so that damage anywhere is seen by both.
  let newestId: number | null = null;
  const chunks = forEachTableRow(file, table.rootPage, (page, rowid, start, end, payloadSize) => {
    newestId = rowid;
    decodeChunkRow(page, start, end, payloadSize);
  });
  const [newestEnd, newestOffset, newestLength] = newestId === null ? [null, null, null] : row;
  const mailboxes = readMailboxTableFromPages(file, schema.mailbox);
  if (mayExist(`${indexFile}-journal`)) throw new NotPlainPages('a journal is present');
  readHeader(fd, headerAgain);
  const after = fstatSync(fd);
  // ctime as well, which only this check asks: nobody can set it back, so it shows a write even where
  // mtime was restored. Between scans it would also take a chmod or a new link for a change, for nothing.
  if (!headerAgain.equals(headerFirst) || !sameFingerprint(before, after) || after.ctimeMs !== before.ctimeMs) throw new NotPlainPages('written while it was read');
  return {
    fingerprint: fingerprintOfStats(before),
    userVersion: header.userVersion,
    chunks,
    newestId,
    newestEnd,
    newestOffset,
    newestLength,
    mailboxes,
  };
}

function readHeader(fd: number, into: Buffer): void {
  if (readSync(fd, into, 0, HEADER_BYTES, 0) !== HEADER_BYTES) throw new NotPlainPages('shorter than a header');
}

/**
 * Whether a journal may be there. stat(2), not fs.existsSync: that asks access(2), which judges by the real
 * uid without capabilities, and would answer "no journal" to a scheduler that reads backupd's 0700 folders
 * through CAP_DAC_READ_SEARCH. A stat that fails for another reason than absence cannot rule a journal out.
 */
function mayExist(file: string): boolean {
  try {
    return statSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

/** A file-system error or a page this reader does not trust; anything else is a bug, and is thrown. */
function declined(err: unknown): NotPlainPages {
  if (err instanceof NotPlainPages) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string') return new NotPlainPages(code);
  throw err;
}

/** ts_end, offset and length of one chunk row into `row` (the id, the record's first column, is the rowid and stored as NULL). */
function decodeChunkRow(page: Buffer, start: number, end: number, payloadSize: number): void {
  const c = cursor.at(page, start, end);
  const headerEnd = start + c.varint();
  if (headerEnd > end) throw new NotPlainPages('a chunk record header beyond its page');
  if (c.pos >= headerEnd) throw new NotPlainPages('an empty chunk record');
  if (c.varint() !== 0) throw new NotPlainPages('a chunk id stored in the record');
  let at = headerEnd;
  for (let column = 1; column < READ_COLUMNS; column++) {
    // Columns missing from a record's end are NULL (the table has no defaults).
    const serialType = c.pos < headerEnd ? c.varint() : 0;
    const size = serialTypeSize(serialType);
    if (at + size > end) throw new NotPlainPages('a chunk record beyond its page');
    if (column > 1) row[column - 2] = integerOrNull(page, at, serialType);
    at += size;
  }
  // As SQLite reads a column: a header read to its end must describe the whole record.
  if (c.pos >= headerEnd && at - start !== payloadSize) throw new NotPlainPages('a chunk record whose values do not fill it');
}
