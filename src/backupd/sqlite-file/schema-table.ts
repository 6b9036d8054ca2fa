import type { PageFile } from './page-file.js';
import { NotPlainPages } from './not-plain-pages.js';
import { parsedSchemas, type ParsedSchema } from './parsed-schemas.js';
import { forEachTableRow, MAX_DEPTH } from './table-btree.js';

/** PageFile's buffer for overflow pages: none of the b-tree walk's depths. */
const OVERFLOW_SLOT = MAX_DEPTH;

/** Reused from file to file: a scan reads every index's schema. */
let spilled = Buffer.allocUnsafe(4096);
const alive: boolean[] = [];

/**
 * The schema SQLite has parsed before (see parsed-schemas.ts) whose rows this file's schema table
 * (sqlite_schema, rooted at page 1) holds, record for record, overflow pages included; NotPlainPages when
 * there is none, or when a root page of its rows is beyond this file.
 */
export function matchParsedSchema(file: PageFile): ParsedSchema {
  const known = parsedSchemas();
  if (known.length === 0) throw new NotPlainPages('a schema SQLite has not read in this process');
  alive.length = known.length;
  alive.fill(true);
  let rows = 0;
  forEachTableRow(file, 1, (page, _rowid, start, localEnd, payloadSize) => {
    const record = localEnd - start === payloadSize ? page : assemble(file, page, start, localEnd, payloadSize);
    const from = record === page ? start : 0;
    let any = false;
    for (let k = 0; k < known.length; k++) {
      if (!alive[k]) continue;
      const { records, ends } = known[k]!;
      const recordStart = rows === 0 ? 0 : ends[rows - 1]!;
      const recordEnd = ends[rows];
      alive[k] = recordEnd !== undefined && recordEnd - recordStart === payloadSize && record.compare(records, recordStart, recordEnd, from, from + payloadSize) === 0;
      any ||= alive[k]!;
    }
    if (!any) throw new NotPlainPages('a schema SQLite has not read in this process');
    rows++;
  });
  const schema = known.find((s, k) => alive[k] && s.ends.length === rows);
  if (!schema) throw new NotPlainPages('a schema SQLite has not read in this process');
  // SQLite refuses a root page beyond the file, the one part of a schema's validity that depends on the file.
  if (schema.maxRootPage > file.header.pageCount) throw new NotPlainPages(`a schema row rooted at page ${schema.maxRootPage}, beyond the file`);
  return schema;
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
    filled += overflow.copy(spilled, filled, 4, 4 + Math.min(perPage, payloadSize - filled));
    next = overflow.readUInt32BE(0);
    if (filled < payloadSize && next === 0) throw new NotPlainPages('an overflow chain that ends early');
  }
  if (next !== 0) throw new NotPlainPages('an overflow chain longer than its record');
  return spilled;
}
