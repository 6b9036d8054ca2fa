/** How each value is tagged in a key. */
const NULL = 0;
const INTEGER = 1;
const TEXT = 2;
/** The schema table's columns are type, name, tbl_name, rootpage, sql. */
const COLUMNS = 5;
const ROOTPAGE = 3;

/**
 * The schema table's rows (type, name, tbl_name, rootpage, sql), in rowid order, as exact values: what
 * SQLite parses before any query, and so what decides, with the file's page count, whether it opens the
 * file at all. The page reader writes it from the pages; after SQLite has read a file, its own rows are
 * written the same way (schemaKeyOfRows): the two compare byte for byte.
 */
export class SchemaKey {
  private buf = Buffer.allocUnsafe(16_384);
  private length = 0;

  reset(): void {
    this.length = 0;
  }

  null(): void {
    this.room(1);
    this.buf[this.length++] = NULL;
  }

  integer(value: number): void {
    this.room(9);
    this.buf[this.length] = INTEGER;
    this.buf.writeDoubleBE(value, this.length + 1);
    this.length += 9;
  }

  text(bytes: Uint8Array, start: number, end: number): void {
    this.room(5 + end - start);
    this.buf[this.length] = TEXT;
    this.buf.writeUInt32BE(end - start, this.length + 1);
    this.buf.set(bytes.subarray(start, end), this.length + 5);
    this.length += 5 + end - start;
  }

  /** The key so far, valid until the next write. */
  get bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  private room(bytes: number): void {
    if (this.length + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.length + bytes));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }
}

/** Each value with its type: a REAL or a TEXT rootpage is not an integer to SQLite's schema loader. */
export const SCHEMA_ROWS_SQL =
  'SELECT typeof(type), CAST(type AS BLOB), typeof(name), CAST(name AS BLOB), typeof(tbl_name), CAST(tbl_name AS BLOB), ' +
  'typeof(rootpage), rootpage, typeof(sql), CAST(sql AS BLOB) FROM sqlite_schema ORDER BY rowid';

/**
 * The key of the rows SCHEMA_ROWS_SQL returned (raw, safe integers) from a UTF-8 database; null for rows
 * the page reader never accepts (a value neither TEXT, INTEGER nor NULL, a rootpage that is not an integer).
 */
export function schemaKeyOfRows(rows: readonly unknown[][]): Buffer | null {
  const key = new SchemaKey();
  for (const row of rows) {
    for (let column = 0; column < COLUMNS; column++) {
      const type = row[2 * column];
      const value = row[2 * column + 1];
      if (type === 'null' && column !== ROOTPAGE) key.null();
      else if (type === 'text' && column !== ROOTPAGE && Buffer.isBuffer(value)) key.text(value, 0, value.length);
      else if (type === 'integer' && column === ROOTPAGE && typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER)) key.integer(Number(value));
      else return null;
    }
  }
  return Buffer.from(key.bytes);
}

/** Keys of the schemas SQLite has parsed in this thread: a server's indexes share one or a few. */
const parsed: Buffer[] = [];
/** Beyond this many, the oldest is forgotten (its next file is read by SQLite again). */
const MAX_PARSED = 32;

export function isParsedSchema(key: Buffer): boolean {
  return parsed.some((known) => known.equals(key));
}

export function rememberParsedSchema(key: Buffer): void {
  if (isParsedSchema(key)) return;
  if (parsed.length >= MAX_PARSED) parsed.shift();
  parsed.push(key);
}
