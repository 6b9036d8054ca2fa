import { readSync } from 'node:fs';
import type { DatabaseHeader } from './database-header.js';
import { NotPlainPages } from './not-plain-pages.js';

/** Read with page 1 in the same system call: the first table a schema creates (Cyrus's chunk table) is rooted on page 2. */
const PREFIX_PAGES = 2;
/** Slot of the prefix among a page size's buffers; the walk's depths use the slots after it. */
const PREFIX_SLOT = 0;

/** Buffers per page size, kept from file to file: a scan reads millions of pages. */
const buffers = new Map<number, Buffer[]>();

function bufferFor(pageSize: number, slot: number, size: number): Buffer {
  let bySize = buffers.get(pageSize);
  if (!bySize) buffers.set(pageSize, (bySize = []));
  return (bySize[slot] ??= Buffer.allocUnsafe(size));
}

/**
 * The pages of an open database file of `fileSize` bytes. The first two are read at once, in one go
 * with page 1 (which holds the header and the schema's root).
 */
export class PageFile {
  private readonly prefix: Buffer;
  private readonly prefixBytes: number;

  constructor(
    private readonly fd: number,
    readonly header: DatabaseHeader,
    fileSize: number,
  ) {
    this.prefix = bufferFor(header.pageSize, PREFIX_SLOT, PREFIX_PAGES * header.pageSize);
    this.prefixBytes = readSync(fd, this.prefix, 0, Math.min(this.prefix.length, fileSize), 0);
    if (this.prefixBytes < header.pageSize) throw new NotPlainPages('short read of page 1');
  }

  /** Whether the file starts with `bytes` as read now (the header, read again). */
  startsWith(bytes: Buffer): boolean {
    return this.prefix.subarray(0, bytes.length).equals(bytes);
  }

  /** Page `pgno`, valid until the next read at the same depth. */
  read(pgno: number, depth: number): Buffer {
    const { pageSize, pageCount } = this.header;
    if (!Number.isInteger(pgno) || pgno < 1 || pgno > pageCount) throw new NotPlainPages(`page ${pgno} of ${pageCount}`);
    if (pgno * pageSize <= this.prefixBytes) return this.prefix.subarray((pgno - 1) * pageSize, pgno * pageSize);
    const buf = bufferFor(pageSize, PREFIX_SLOT + 1 + depth, pageSize);
    if (readSync(this.fd, buf, 0, pageSize, (pgno - 1) * pageSize) !== pageSize) throw new NotPlainPages(`short read of page ${pgno}`);
    return buf;
  }
}
