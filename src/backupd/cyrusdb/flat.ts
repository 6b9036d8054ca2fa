import { CyrusDbError } from './errors.js';
import type { CyrusDbEntry } from './types.js';

const LF = 0x0a;
const TAB = 0x09;
const ESCAPE = 0xff;

/**
 * All pairs of a flat file, in file order (the order Cyrus iterates in).
 * Each line is ENC(key) TAB ENC(value) LF; an empty file is an empty database.
 * Throws CyrusDbError where Cyrus would silently drop or merge lines.
 */
export function parseFlat(bytes: Buffer, file: string): CyrusDbEntry[] {
  const entries: CyrusDbEntry[] = [];
  if (bytes.length === 0) return entries;
  if (bytes[bytes.length - 1] !== LF) {
    const lastLineStart = bytes.lastIndexOf(LF) + 1;
    throw new CyrusDbError('TRUNCATED', file, 'the last line has no line feed (file cut short?)', {
      offset: lastLineStart,
      backend: 'flat',
    });
  }

  const escapes = new EscapeFinder(bytes);
  let lineNumber = 1;
  for (let lineStart = 0; lineStart < bytes.length; lineNumber++) {
    const lineEnd = bytes.indexOf(LF, lineStart);
    const tab = bytes.indexOf(TAB, lineStart);
    if (tab === -1 || tab > lineEnd) {
      throw new CyrusDbError('BAD_LINE', file, `line ${lineNumber} has no TAB between key and value`, {
        offset: lineStart,
        backend: 'flat',
      });
    }
    entries.push({
      key: decode(bytes, lineStart, tab, escapes.firstFrom(lineStart)),
      value: decode(bytes, tab + 1, lineEnd, escapes.firstFrom(tab + 1)),
    });
    lineStart = lineEnd + 1;
  }
  return entries;
}

/**
 * Finds escape bytes for fields visited in file order. Buffer.indexOf cannot stop
 * at the field's end, so remembering the last hit keeps the scan linear even
 * when the file has no escapes at all.
 */
class EscapeFinder {
  private next = -1;

  constructor(private readonly bytes: Buffer) {}

  /** Position of the first 0xFF at or after `from`, or the file length if none. */
  firstFrom(from: number): number {
    if (this.next < from) {
      const found = this.bytes.indexOf(ESCAPE, from);
      this.next = found === -1 ? this.bytes.length : found;
    }
    return this.next;
  }
}

/**
 * Undoes Cyrus's flat escaping of bytes [start, end): FF FF -> FF, FF x -> x & 0x7F,
 * a lone FF at the end is dropped. Without any FF the field is returned as a view.
 */
function decode(bytes: Buffer, start: number, end: number, firstEscape: number): Buffer {
  if (firstEscape >= end) return bytes.subarray(start, end);

  const decoded = Buffer.allocUnsafe(end - start);
  let length = bytes.copy(decoded, 0, start, firstEscape);
  for (let i = firstEscape; i < end; i++) {
    const byte = bytes[i];
    if (byte !== ESCAPE) {
      decoded[length++] = byte;
    } else if (i + 1 < end) {
      const escaped = bytes[++i];
      decoded[length++] = escaped === ESCAPE ? ESCAPE : escaped & 0x7f;
    }
  }
  return decoded.subarray(0, length);
}
