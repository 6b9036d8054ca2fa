import type { PageFile } from './page-file.js';
import { NotPlainPages } from './not-plain-pages.js';
import { PageCursor } from './page-cursor.js';
import { integerOrNull, serialTypeSize, textEquals } from './record.js';
import { forEachTableRow } from './table-btree.js';

/** The schema table's columns: type, name, tbl_name, rootpage, sql. */
const COLUMNS = 5;
const KINDS = ['table', 'index', 'view', 'trigger'];

const isText = (serialType: number): boolean => serialType >= 13 && (serialType & 1) === 1;

export interface SchemaTable {
  rootPage: number;
  sql: string;
}

/** The table `name` as the schema (sqlite_master, rooted at page 1) records it; null when there is none. */
export function findTable(file: PageFile, name: string): SchemaTable | null {
  const cursor = new PageCursor();
  const serials = new Array<number>(COLUMNS);
  const offsets = new Array<number>(COLUMNS);
  let found: SchemaTable | null = null;
  forEachTableRow(file, 1, (page, _rowid, start, end) => {
    const c = cursor.at(page, start, end);
    const headerEnd = start + c.varint();
    if (headerEnd > end) throw new NotPlainPages('a schema record header beyond its page');
    let offset = headerEnd;
    for (let i = 0; i < COLUMNS; i++) {
      if (c.pos >= headerEnd) throw new NotPlainPages('a schema record with too few columns');
      serials[i] = c.varint();
      offsets[i] = offset;
      offset += serialTypeSize(serials[i]!);
    }
    // SQLite loads every row of the schema before any query: a row it could not load makes the file unreadable to it.
    if (offsets[2]! + serialTypeSize(serials[2]!) > end) throw new NotPlainPages('a schema row\'s names beyond its page');
    if (!KINDS.some((kind) => textEquals(page, offsets[0]!, serials[0]!, kind)) || !isText(serials[1]!) || !isText(serials[2]!)) {
      throw new NotPlainPages('a schema row that is not one SQLite writes');
    }
    if (!textEquals(page, offsets[0]!, serials[0]!, 'table') || !textEquals(page, offsets[1]!, serials[1]!, name)) return;
    if (found) throw new NotPlainPages(`two tables named ${name}`);
    if (offset > end) throw new NotPlainPages(`the schema of ${name} continues on overflow pages`);
    const rootPage = integerOrNull(page, offsets[3]!, serials[3]!);
    const sql = isText(serials[4]!) ? page.toString('utf8', offsets[4]!, offsets[4]! + serialTypeSize(serials[4]!)) : null;
    if (rootPage === null || rootPage < 2 || sql === null) throw new NotPlainPages(`the schema row of ${name} is incomplete`);
    found = { rootPage, sql };
  });
  return found;
}
