import { NotPlainPages } from './not-plain-pages.js';

/**
 * Reads SQLite's big-endian varints and integers from one page, never past `end`: a cell's bytes as the
 * page says they are, so a damaged length stops the read instead of wandering into the next cell.
 */
export class PageCursor {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;

  at(buf: Buffer, pos: number, end: number): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    return this;
  }

  /** 1 to 9 bytes: seven bits from each of the first eight, all eight of the ninth. */
  varint(): number {
    // Most varints in a page (sizes, small rowids, serial types) are one byte: that case stays inlined.
    const pos = this.pos;
    if (pos < this.end && this.buf[pos]! < 0x80) {
      this.pos = pos + 1;
      return this.buf[pos]!;
    }
    return this.longVarint();
  }

  private longVarint(): number {
    let value = 0;
    for (let i = 0; i < 8; i++) {
      const byte = this.byte();
      value = value * 128 + (byte & 0x7f);
      if (byte < 0x80) return value;
    }
    value = value * 256 + this.byte();
    // A nine-byte varint is a negative or huge 64-bit value: no count, size or rowid here is one.
    if (!Number.isSafeInteger(value)) throw new NotPlainPages('a varint beyond 2^53');
    return value;
  }

  byte(): number {
    if (this.pos >= this.end) throw new NotPlainPages('a cell runs past its end');
    return this.buf[this.pos++]!;
  }
}
