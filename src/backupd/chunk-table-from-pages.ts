import { closeSync, existsSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import type { IndexFingerprint } from './scan-cache.js';
import { HEADER_BYTES, parseDatabaseHeader } from './sqlite-file/database-header.js';
import { NotPlainPages } from './sqlite-file/not-plain-pages.js';
import { PageCursor } from './sqlite-file/page-cursor.js';
import { PageFile } from './sqlite-file/page-file.js';
import { integerOrNull, serialTypeSize } from './sqlite-file/record.js';
import { isParsedSchema } from './sqlite-file/schema-key.js';
import { readSchema } from './sqlite-file/schema-table.js';
import { forEachTableRow } from './sqlite-file/table-btree.js';

/** The chunk table's count and its newest chunk (by id, as `ctl_backups list` shows it), and `PRAGMA user_version`, read from the pages. */
export interface ChunkTablePages {
  /** Of the file as it was opened, before anything was read from it. */
  fingerprint: IndexFingerprint;
  userVersion: number;
  chunks: number;
  /** The largest chunk id; null without a chunk. */
  newestId: number | null;
  /** That chunk's ts_end in seconds, as stored (validated by the caller); null without a chunk or when it is NULL. */
  newestEnd: number | null;
}

/**
 * Cyrus's chunk table, as Cyrus 3.x creates it: the rowid is the chunk id and ts_end is the third column.
 * Any other definition is left to SQLite.
 */
const CYRUS_CHUNK_TABLE = /^CREATE TABLE chunk\s*\(\s*id INTEGER PRIMARY KEY ASC\s*,\s*ts_start INTEGER\s*,\s*ts_end INTEGER\s*,[^]*\)\s*$/i;

/** Reused from file to file: a scan reads a hundred thousand of them. */
const headerFirst = Buffer.allocUnsafe(HEADER_BYTES);
const headerAgain = Buffer.allocUnsafe(HEADER_BYTES);
const cursor = new PageCursor();

/**
 * The chunk table's count and latest end, read straight from the index's pages: a scan opens every index,
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
 * has parsed before in this thread (rememberParsedSchema, after a successful read): so the first index of
 * each schema is read by SQLite, and a damaged schema always is.
 *
 * Returns NotPlainPages instead for anything else — a write in progress, WAL mode, another schema, a
 * structure it does not trust, a file it cannot open — and the caller asks SQLite, which locks and
 * explains errors.
 */
export function readChunkTableFromPages(indexFile: string): ChunkTablePages | NotPlainPages {
  let fd: number;
  try {
    fd = openSync(indexFile, 'r');
  } catch (err) {
    return declined(err);
  }
  try {
    const before = fstatSync(fd);
    readHeader(fd, headerFirst);
    const header = parseDatabaseHeader(headerFirst, before.size);
    if (existsSync(`${indexFile}-journal`) || existsSync(`${indexFile}-wal`)) throw new NotPlainPages('a journal is present');
    const file = new PageFile(fd, header, before.size);
    if (!file.startsWith(headerFirst)) throw new NotPlainPages('written while it was read');
    const { key, table } = readSchema(file, 'chunk');
    // SQLite refuses a whole file over one row of its schema it cannot parse; it is the judge of that.
    if (!isParsedSchema(key)) throw new NotPlainPages('a schema SQLite has not read in this process');
    if (!table || table.rootPage < 2 || !CYRUS_CHUNK_TABLE.test(table.sql)) throw new NotPlainPages('not the chunk table Cyrus creates');
    // Rows come in rising rowid (= chunk id) order: the last one visited is the newest chunk.
    let newestId: number | null = null;
    let newestEnd: number | null = null;
    const chunks = forEachTableRow(file, table.rootPage, (page, rowid, start, end, payloadSize) => {
      newestId = rowid;
      newestEnd = tsEndOf(page, start, end, payloadSize);
    });
    if (existsSync(`${indexFile}-journal`)) throw new NotPlainPages('a journal is present');
    readHeader(fd, headerAgain);
    if (!headerAgain.equals(headerFirst) || !sameFile(before, fstatSync(fd))) throw new NotPlainPages('written while it was read');
    return { fingerprint: { ino: before.ino, size: before.size, mtimeMs: before.mtimeMs }, userVersion: header.userVersion, chunks, newestId, newestEnd };
  } catch (err) {
    return declined(err);
  } finally {
    // Safe only because nothing in this process holds SQLite's lock on this file now: closing any
    // descriptor of a file drops the process's POSIX locks on it.
    closeSync(fd);
  }
}

function readHeader(fd: number, into: Buffer): void {
  if (readSync(fd, into, 0, HEADER_BYTES, 0) !== HEADER_BYTES) throw new NotPlainPages('shorter than a header');
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** A file-system error or a page this reader does not trust; anything else is a bug, and is thrown. */
function declined(err: unknown): NotPlainPages {
  if (err instanceof NotPlainPages) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string') return new NotPlainPages(code);
  throw err;
}

/** ts_end of one chunk row: the record's third column (the first, the id, is the rowid and stored as NULL). */
function tsEndOf(page: Buffer, start: number, end: number, payloadSize: number): number | null {
  const c = cursor.at(page, start, end);
  const headerEnd = start + c.varint();
  if (headerEnd > end) throw new NotPlainPages('a chunk record header beyond its page');
  if (c.pos >= headerEnd) throw new NotPlainPages('an empty chunk record');
  if (c.varint() !== 0) throw new NotPlainPages('a chunk id stored in the record');
  // Columns missing from a record's end are NULL (none of the chunk table's has a default).
  const tsStartType = c.pos < headerEnd ? c.varint() : 0;
  const tsEndType = c.pos < headerEnd ? c.varint() : 0;
  const at = headerEnd + serialTypeSize(tsStartType);
  const valuesEnd = at + serialTypeSize(tsEndType);
  if (valuesEnd > end) throw new NotPlainPages('a chunk record beyond its page');
  // As SQLite reads a column: a header read to its end must describe the whole record.
  if (c.pos >= headerEnd && valuesEnd - start !== payloadSize) throw new NotPlainPages('a chunk record whose values do not fill it');
  return integerOrNull(page, at, tsEndType);
}
