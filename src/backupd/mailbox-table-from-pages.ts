import { MailboxRows } from './mailbox-rows.js';
import { NotPlainPages } from './sqlite-file/not-plain-pages.js';
import { PageCursor } from './sqlite-file/page-cursor.js';
import type { PageFile } from './sqlite-file/page-file.js';
import type { SchemaTable } from './sqlite-file/parsed-schemas.js';
import { integerOrNull, serialTypeSize } from './sqlite-file/record.js';
import { forEachTableRow } from './sqlite-file/table-btree.js';

/**
 * Cyrus's mailbox table as every 3.x release creates it (backup/lcb_sqlconsts.c), column by column as
 * regular expressions in which a space stands for any whitespace; any other definition is left to SQLite.
 */
const CYRUS_MAILBOX_COLUMNS = [
  'id INTEGER PRIMARY KEY ASC',
  'last_chunk_id INTEGER NOT NULL REFERENCES chunk\\s*\\(\\s*id\\s*\\)',
  'uniqueid CHAR UNIQUE NOT NULL',
  'mboxname CHAR NOT NULL',
  'mboxtype CHAR',
  'last_uid INTEGER',
  'highestmodseq INTEGER',
  'recentuid INTEGER',
  'recenttime INTEGER',
  'last_appenddate INTEGER',
  'pop3_last_login INTEGER',
  'pop3_show_after INTEGER',
  'uidvalidity INTEGER',
  'partition CHAR',
  'acl CHAR',
  'options CHAR',
  'sync_crc INTEGER',
  'sync_crc_annot INTEGER',
  'quotaroot CHAR',
  'xconvmodseq INTEGER',
  'annotations CHAR',
  'deleted INTEGER',
];
const CYRUS_MAILBOX_TABLE = new RegExp(`^CREATE TABLE mailbox\\s*\\(\\s*${CYRUS_MAILBOX_COLUMNS.join('\\s*,\\s*').replace(/ /g, '\\s+')}\\s*\\)\\s*$`, 'i');

/** The CREATE text last checked, and whether it was Cyrus's: files of one schema share the string. */
let lastChecked = { sql: '', cyrus: false };

function isCyrusMailboxTable(sql: string): boolean {
  if (sql !== lastChecked.sql) lastChecked = { sql, cyrus: CYRUS_MAILBOX_TABLE.test(sql) };
  return lastChecked.cyrus;
}

const COLUMNS = CYRUS_MAILBOX_COLUMNS.length;
const MBOXNAME = 3;
const LAST_UID = 5;
const HIGHESTMODSEQ = 6;
const UIDVALIDITY = 12;
const DELETED = 21;

/** Reused from file to file, as the chunk table's. */
const cursor = new PageCursor();
/** Of the row being decoded: each column's serial type, and where its value starts on the page. */
const types = new Float64Array(COLUMNS);
const starts = new Int32Array(COLUMNS);
/**
 * The body size of each serial type whose varint is one byte (below 128), -1 for the reserved 10 and 11:
 * each row's header is 22 of them, and reading it is most of the cost of this table.
 */
const ONE_BYTE_SIZES = Int8Array.from({ length: 128 }, (_, t) => (t === 10 || t === 11 ? -1 : serialTypeSize(t)));

/**
 * The live rows of the schema's mailbox table, read from the pages as the chunk table is (see
 * readIndexPages, which proves that no write overlapped). No such table, one not exactly
 * Cyrus's, or a row this reader does not trust, is NotPlainPages: SQLite reads that index.
 */
export function readMailboxTableFromPages(file: PageFile, table: SchemaTable | null): MailboxRows {
  if (!table || table.rootPage < 2 || !isCyrusMailboxTable(table.sql)) throw new NotPlainPages('not the mailbox table Cyrus creates');
  const rows = new MailboxRows();
  forEachTableRow(file, table.rootPage, (page, rowid, start, localEnd, payloadSize) => decodeMailboxRow(rows, page, rowid, start, localEnd, payloadSize));
  return rows;
}

/**
 * One row into `rows` unless it is deleted. Its whole header is read, as SQLite reads it to reach
 * `deleted`, the last column, for every row; a deleted row's other values are never decoded. A live
 * row's name is copied from the page as it is where it can be (MailboxRows.addPlain), made a string
 * otherwise. Only the values read must be on this page: annotations and ACLs, which may spill onto
 * overflow pages, come after all of them.
 */
function decodeMailboxRow(rows: MailboxRows, page: Buffer, rowid: number, start: number, localEnd: number, payloadSize: number): void {
  const c = cursor.at(page, start, localEnd);
  const headerEnd = start + c.varint();
  if (headerEnd > localEnd) throw new NotPlainPages('a mailbox record header beyond its page');
  if (c.pos >= headerEnd) throw new NotPlainPages('an empty mailbox record');
  if (c.varint() !== 0) throw new NotPlainPages('a mailbox id stored in the record');
  let pos = c.pos;
  let at = headerEnd;
  for (let column = 1; column < COLUMNS; column++) {
    // Columns missing from a record's end are NULL (the table has no defaults).
    let serialType = 0;
    let size = 0;
    if (pos < headerEnd) {
      serialType = page[pos]!;
      if (serialType < 0x80) {
        pos++;
        size = ONE_BYTE_SIZES[serialType]!;
        if (size < 0) throw new NotPlainPages(`reserved serial type ${serialType}`);
      } else {
        c.pos = pos;
        serialType = c.varint();
        pos = c.pos;
        size = serialTypeSize(serialType);
      }
    }
    types[column] = serialType;
    starts[column] = at;
    at += size;
  }
  if (pos !== headerEnd || at - start !== payloadSize) throw new NotPlainPages('a mailbox record whose values do not fill it');
  if (types[DELETED] !== 0) return;
  const uidvalidity = integer(page, UIDVALIDITY, localEnd);
  const lastUid = integer(page, LAST_UID, localEnd);
  const highestModseq = integer(page, HIGHESTMODSEQ, localEnd);
  const nameType = types[MBOXNAME]!;
  if (nameType >= 13 && nameType % 2 === 1) {
    const from = local(MBOXNAME, nameType, localEnd);
    if (rows.addPlain(rowid, page, from, from + serialTypeSize(nameType), uidvalidity, lastUid, highestModseq)) return;
  }
  rows.add(rowid, text(page, MBOXNAME, localEnd), uidvalidity, lastUid, highestModseq);
}

/** Column `column`'s TEXT, or null for NULL; anything else, or text that is not UTF-8, is left to SQLite. */
function text(page: Buffer, column: number, localEnd: number): string | null {
  const serialType = types[column]!;
  if (serialType === 0) return null;
  if (serialType < 13 || serialType % 2 === 0) throw new NotPlainPages('a mailbox name that is not text');
  const from = local(column, serialType, localEnd);
  const value = page.toString('utf8', from, from + serialTypeSize(serialType));
  // Invalid UTF-8 becomes U+FFFD here, and maybe otherwise in SQLite's hands: such a name is SQLite's to read.
  if (value.includes('\uFFFD')) throw new NotPlainPages('a mailbox name that is not UTF-8');
  return value;
}

function integer(page: Buffer, column: number, localEnd: number): number | null {
  const serialType = types[column]!;
  return integerOrNull(page, local(column, serialType, localEnd), serialType);
}

/** Where column `column`'s value starts, which must end on this page (SQLite would follow the overflow pages). */
function local(column: number, serialType: number, localEnd: number): number {
  const from = starts[column]!;
  const size = serialTypeSize(serialType);
  if (size > 0 && from + size > localEnd) throw new NotPlainPages('a mailbox value on an overflow page');
  return from;
}
