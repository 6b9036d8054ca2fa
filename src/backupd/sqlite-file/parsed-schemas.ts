/**
 * Schemas SQLite has parsed in this thread. SQLite parses every row of a file's schema table (type, name,
 * tbl_name, rootpage, sql) before any query, and refuses the whole file over one it cannot parse; given
 * the same rows, it parses them the same way, with one exception: a root page beyond the file's end. So a
 * file whose schema rows are exactly those of a file SQLite has read, and whose pages reach their root
 * pages, is one SQLite opens. Each schema is kept as the records SQLite writes for its rows (what a
 * file written by SQLite holds), so the page reader compares a file's rows byte for byte, without decoding.
 */
export interface ParsedSchema {
  /** Every row's record, one after the other. */
  records: Buffer;
  /** Where each row's record ends in `records`. */
  ends: number[];
  /** The largest root page of any row. */
  maxRootPage: number;
  /** The rows of the tables named exactly `chunk` and `mailbox`, if any. */
  chunk: SchemaTable | null;
  mailbox: SchemaTable | null;
}

export interface SchemaTable {
  rootPage: number;
  sql: string;
}

/** Each value with its type: a REAL or a TEXT rootpage is not what the records below encode. */
export const SCHEMA_ROWS_SQL =
  'SELECT typeof(type), CAST(type AS BLOB), typeof(name), CAST(name AS BLOB), typeof(tbl_name), CAST(tbl_name AS BLOB), ' +
  'typeof(rootpage), rootpage, typeof(sql), CAST(sql AS BLOB) FROM sqlite_schema ORDER BY rowid';

/** A server's indexes share one schema or a few; beyond this many, the oldest is forgotten. */
const MAX_PARSED = 32;
const parsed: ParsedSchema[] = [];

export function parsedSchemas(): readonly ParsedSchema[] {
  return parsed;
}

/**
 * Remembers the rows SCHEMA_ROWS_SQL returned (raw, safe integers) from a UTF-8 database whose schema
 * SQLite has just parsed. Rows the page reader never compares equal (a value neither TEXT, INTEGER nor
 * NULL, a rootpage that is not an integer) are not kept.
 */
export function rememberParsedSchema(rows: readonly unknown[][]): void {
  const records: Buffer[] = [];
  let maxRootPage = 0;
  const tables: Pick<ParsedSchema, 'chunk' | 'mailbox'> = { chunk: null, mailbox: null };
  for (const row of rows) {
    const [typeOf, type, nameOf, name, tableOf, table, rootOf, root, sqlOf, sql] = row;
    const texts = [[typeOf, type], [nameOf, name], [tableOf, table], [sqlOf, sql]];
    if (texts.some(([of, value]) => !(of === 'null' || (of === 'text' && Buffer.isBuffer(value))))) return;
    if (rootOf !== 'integer' || typeof root !== 'bigint' || root < 0n || root > BigInt(Number.MAX_SAFE_INTEGER)) return;
    const rootPage = Number(root);
    maxRootPage = Math.max(maxRootPage, rootPage);
    const asText = (value: unknown) => (Buffer.isBuffer(value) ? value : null);
    records.push(record([asText(type), asText(name), asText(table), rootPage, asText(sql)]));
    const tableName = asText(type)?.toString('latin1') === 'table' ? asText(name)?.toString('latin1') : undefined;
    if ((tableName === 'chunk' || tableName === 'mailbox') && !tables[tableName] && Buffer.isBuffer(sql)) {
      tables[tableName] = { rootPage, sql: sql.toString('utf8') };
    }
  }
  let end = 0;
  const schema: ParsedSchema = { records: Buffer.concat(records), ends: records.map((r) => (end += r.length)), maxRootPage, ...tables };
  if (parsed.some((known) => known.records.equals(schema.records))) return;
  if (parsed.length >= MAX_PARSED) parsed.shift();
  parsed.push(schema);
}

/**
 * A row's record as SQLite writes it (OP_MakeRecord): a header of varints (its own size, then each value's
 * serial type), then the values. Integers take the fewest bytes, 0 and 1 none (the file formats of SQLite
 * 3.3.0 and later); text is its bytes.
 */
function record(values: ReadonlyArray<Buffer | number | null>): Buffer {
  const types = values.map(serialType);
  const typeBytes = types.reduce((sum, t) => sum + varintLength(t), 0);
  // The header's size counts its own varint: one byte for any header of five columns.
  const header = [typeBytes + 1, ...types].flatMap(varint);
  const body = values.map((value, i) => (typeof value === 'number' ? integerBytes(value, types[i]!) : (value ?? Buffer.alloc(0))));
  return Buffer.concat([Buffer.from(header), ...body]);
}

function serialType(value: Buffer | number | null): number {
  if (value === null) return 0;
  if (Buffer.isBuffer(value)) return 2 * value.length + 13;
  if (value === 0 || value === 1) return 8 + value;
  const u = value < 0 ? -value - 1 : value;
  if (u <= 0x7f) return 1;
  if (u <= 0x7fff) return 2;
  if (u <= 0x7fffff) return 3;
  if (u <= 0x7fffffff) return 4;
  return u <= 0x7fff_ffff_ffff ? 5 : 6;
}

const INTEGER_BYTES = [0, 1, 2, 3, 4, 6, 8];

function integerBytes(value: number, type: number): Buffer {
  const bytes = Buffer.alloc(INTEGER_BYTES[type] ?? 0);
  if (bytes.length === 8) bytes.writeBigInt64BE(BigInt(value));
  else if (bytes.length > 0) bytes.writeIntBE(value, 0, bytes.length);
  return bytes;
}

/** SQLite's varint: seven bits a byte, high bit set on all but the last (the values here stay below 2^56). */
function varint(value: number): number[] {
  const bytes = [value & 0x7f];
  for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift((v & 0x7f) | 0x80);
  return bytes;
}

const varintLength = (value: number): number => varint(value).length;
