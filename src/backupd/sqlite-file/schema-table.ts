import type { PageFile } from './page-file.js';
import { NotPlainPages } from './not-plain-pages.js';
import { PageCursor } from './page-cursor.js';
import { integerOrNull, serialTypeSize, textEquals } from './record.js';
import { SchemaKey } from './schema-key.js';
import { forEachTableRow, MAX_DEPTH } from './table-btree.js';

/** The schema table's columns: type, name, tbl_name, rootpage, sql. */
const COLUMNS = 5;
const ROOTPAGE = 3;
const SQL = 4;
/** PageFile's buffer for overflow pages: none of the b-tree walk's depths. */
const OVERFLOW_SLOT = MAX_DEPTH;

const isText = (serialType: number): boolean => serialType >= 13 && (serialType & 1) === 1;
const isInteger = (serialType: number): boolean => (serialType >= 1 && serialType <= 6) || serialType === 8 || serialType === 9;

export interface SchemaTable {
  rootPage: number;
  sql: string;
}

export interface Schema {
  /** Every row as SQLite loads it (valid until the next read of a schema). */
  key: Buffer;
  /** The table `name` asked for; null when there is none. */
  table: SchemaTable | null;
}

/** Reused from file to file: a scan reads every index's schema. */
const key = new SchemaKey();
const cursor = new PageCursor();
const serials = new Array<number>(COLUMNS);
const offsets = new Array<number>(COLUMNS);
let spilled = Buffer.allocUnsafe(4096);

/**
 * The whole schema (sqlite_schema, rooted at page 1), read as SQLite reads it before any query: every row,
 * overflow pages included, and the table `name`. Whether SQLite can parse it is not judged here (the key
 * says what it must have parsed); only what depends on this file besides the rows: a root page beyond it.
 */
export function readSchema(file: PageFile, name: string): Schema {
  key.reset();
  let table: SchemaTable | null = null;
  forEachTableRow(file, 1, (page, _rowid, start, localEnd, payloadSize) => {
    const record = localEnd - start === payloadSize ? page : assemble(file, page, start, localEnd, payloadSize);
    const from = record === page ? start : 0;
    const end = from + payloadSize;
    const c = cursor.at(record, from, end);
    const headerEnd = from + c.varint();
    if (headerEnd > end) throw new NotPlainPages('a schema record header beyond its end');
    let offset = headerEnd;
    for (let i = 0; i < COLUMNS; i++) {
      if (c.pos >= headerEnd) throw new NotPlainPages('a schema record with too few columns');
      serials[i] = c.varint();
      offsets[i] = offset;
      offset += serialTypeSize(serials[i]!);
    }
    // SQLite reads all five columns, and then the record must end exactly where its values do.
    if (c.pos !== headerEnd || offset !== end) throw new NotPlainPages('a schema record whose values do not fill it');
    for (let i = 0; i < COLUMNS; i++) {
      const serial = serials[i]!;
      if (i === ROOTPAGE) {
        if (!isInteger(serial)) throw new NotPlainPages('a schema row whose rootpage is not an integer');
        const rootPage = integerOrNull(record, offsets[i]!, serial)!;
        if (rootPage > file.header.pageCount) throw new NotPlainPages(`a schema row rooted at page ${rootPage}, beyond the file`);
        key.integer(rootPage);
      } else if (isText(serial)) {
        key.text(record, offsets[i]!, offsets[i]! + serialTypeSize(serial));
      } else if (serial === 0) {
        key.null();
      } else {
        throw new NotPlainPages('a schema value that is neither text nor NULL');
      }
    }
    if (table || !textEquals(record, offsets[0]!, serials[0]!, 'table') || !textEquals(record, offsets[1]!, serials[1]!, name) || !isText(serials[SQL]!)) return;
    const sqlStart = offsets[SQL]!;
    table = { rootPage: integerOrNull(record, offsets[ROOTPAGE]!, serials[ROOTPAGE]!)!, sql: record.toString('utf8', sqlStart, sqlStart + serialTypeSize(serials[SQL]!)) };
  });
  return { key: key.bytes, table };
}

/** A record that continues on overflow pages, whole, in a buffer of its own (valid until the next one). */
function assemble(file: PageFile, page: Buffer, start: number, localEnd: number, payloadSize: number): Buffer {
  if (spilled.length < payloadSize) spilled = Buffer.allocUnsafe(Math.max(payloadSize, 2 * spilled.length));
  let filled = page.copy(spilled, 0, start, localEnd);
  const perPage = file.header.usableSize - 4;
  let next = page.readUInt32BE(localEnd);
  while (filled < payloadSize) {
    // As many pages as the size needs; a chain that ends early, or goes on, is damage.
    if (next < 2) throw new NotPlainPages(`overflow page ${next}`);
    const overflow = file.read(next, OVERFLOW_SLOT);
    const take = Math.min(perPage, payloadSize - filled);
    filled += overflow.copy(spilled, filled, 4, 4 + take);
    next = overflow.readUInt32BE(0);
    if (filled < payloadSize && next === 0) throw new NotPlainPages('an overflow chain that ends early');
  }
  if (next !== 0) throw new NotPlainPages('an overflow chain longer than its record');
  return spilled;
}
