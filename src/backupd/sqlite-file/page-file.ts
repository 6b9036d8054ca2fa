import { readSync } from 'node:fs';
import type { DatabaseHeader } from './database-header.js';
import { NotPlainPages } from './not-plain-pages.js';

/** One buffer per page size and walk depth, kept from file to file: a scan reads millions of pages. */
const buffers = new Map<number, Buffer[]>();

function bufferFor(pageSize: number, depth: number): Buffer {
  let bySize = buffers.get(pageSize);
  if (!bySize) buffers.set(pageSize, (bySize = []));
  return (bySize[depth] ??= Buffer.allocUnsafe(pageSize));
}

/**
 * The pages of an open database file. The first few are already read, in one go with page 1 (which holds
 * the header and the schema's root): the first table a schema creates is rooted right after it.
 */
export class PageFile {
  constructor(
    private readonly fd: number,
    readonly header: DatabaseHeader,
    private readonly prefix: Buffer,
    private readonly prefixBytes: number,
  ) {}

  /** Page `pgno`, valid until the next read at the same depth. */
  read(pgno: number, depth: number): Buffer {
    const { pageSize, pageCount } = this.header;
    if (!Number.isInteger(pgno) || pgno < 1 || pgno > pageCount) throw new NotPlainPages(`page ${pgno} of ${pageCount}`);
    if (pgno * pageSize <= this.prefixBytes) return this.prefix.subarray((pgno - 1) * pageSize, pgno * pageSize);
    const buf = bufferFor(pageSize, depth);
    if (readSync(this.fd, buf, 0, pageSize, (pgno - 1) * pageSize) !== pageSize) throw new NotPlainPages(`short read of page ${pgno}`);
    return buf;
  }
}
