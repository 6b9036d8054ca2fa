import { NotPlainPages } from './not-plain-pages.js';

/** SQLite's database header, at the start of page 1. */
export const HEADER_BYTES = 100;
const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** SQLite reserves the page holding this offset for its locks; a file reaching it is not read here. */
const LOCK_BYTE_OFFSET = 0x4000_0000;

export interface DatabaseHeader {
  pageSize: number;
  /** The page size less the bytes reserved at each page's end (by extensions such as checksums). */
  usableSize: number;
  /** Pages in the file (the header's own count, when valid, must agree). */
  pageCount: number;
  userVersion: number;
}

/** The header of a rollback-journal, UTF-8 database of `fileSize` bytes; anything else is not read here. */
export function parseDatabaseHeader(page1: Buffer, fileSize: number): DatabaseHeader {
  if (page1.length < HEADER_BYTES || !page1.subarray(0, MAGIC.length).equals(MAGIC)) throw new NotPlainPages('no SQLite header');
  const rawPageSize = page1.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) throw new NotPlainPages(`page size ${rawPageSize}`);
  // Write and read versions 1: the rollback journal. 2 is WAL, where the file alone is not the database.
  if (page1[18] !== 1 || page1[19] !== 1) throw new NotPlainPages('not in rollback-journal mode');
  const usableSize = pageSize - page1[20]!;
  if (usableSize < 480) throw new NotPlainPages('too little usable space per page');
  if (page1[21] !== 64 || page1[22] !== 32 || page1[23] !== 32) throw new NotPlainPages('unusual payload fractions');
  const schemaFormat = page1.readUInt32BE(44);
  if (schemaFormat < 1 || schemaFormat > 4) throw new NotPlainPages(`schema format ${schemaFormat}`);
  if (page1.readUInt32BE(56) !== 1) throw new NotPlainPages('text is not UTF-8');
  if (fileSize % pageSize !== 0 || fileSize >= LOCK_BYTE_OFFSET) throw new NotPlainPages('file size is not a whole number of pages');
  const pageCount = fileSize / pageSize;
  const changeCounter = page1.readUInt32BE(24);
  // The header's page count is only valid when written by the same commit as the counter (SQLite ≥ 3.7.0).
  const headerPages = page1.readUInt32BE(28);
  if (page1.readUInt32BE(92) === changeCounter && headerPages !== 0 && headerPages !== pageCount) {
    throw new NotPlainPages(`header says ${headerPages} pages, the file has ${pageCount}`);
  }
  return { pageSize, usableSize, pageCount, userVersion: page1.readInt32BE(60) };
}
