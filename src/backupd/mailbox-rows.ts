import { describeProblem, mailboxProblem, MAX_NAME_LENGTH, MAX_UIDVALIDITY } from './backed-up-mailboxes.js';
import { BackupIndexError } from './index-error.js';

const OPEN = 0x5b;
const CLOSE = 0x5d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Room for a row besides its name (`,[`, the name's quotes, three integers of up to 16 digits and their commas, `]`), and for the closing `]`. */
const ROW_BYTES = 64;
/** 10^0 to 10^15: a safe integer has at most 16 digits. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * The live rows of an index's mailbox table as either reader meets them, in id order, each validated as
 * it is added, so that the pages and SQLite judge the same rows the same way. The good ones are written
 * as encodeBackedUpMailboxes's text, in UTF-8 into a buffer of their own that makes one flat string:
 * a scan reads a million rows, and keeps nothing of them but that text.
 *
 * The first bad row is kept, not thrown: the page reader may only say so once it has proven that no
 * write overlapped its read, and the summary checks the chunk table first.
 */
export class MailboxRows {
  private bytes = Buffer.allocUnsafe(1024);
  /** Bytes written: `[` and the rows so far (`bytes` has room for one more, the closing `]`). */
  private length = 1;
  /** Where each row's name, quoted, starts and ends in `bytes`; and each row's id. */
  private readonly nameAt: number[] = [];
  private readonly ids: Array<number | bigint> = [];
  /** A hash of each quoted name: two rows of one name are found without comparing every pair. */
  private readonly hashes = new Set<number>();
  /** What is wrong with the first bad row; rows after it are not looked at. */
  private problem: string | null = null;

  constructor() {
    this.bytes[0] = OPEN;
  }

  /**
   * Row `id`, read from a page: its name the bytes `page[from, to)`, its integers as read (null for NULL).
   * Taken when they are what JSON writes as they are and mailboxProblem accepts: a name of printable
   * ASCII without a quote or a backslash, integers in range. False otherwise, and the caller passes the
   * row to add() instead, its name decoded.
   */
  addPlain(id: number, page: Buffer, from: number, to: number, uidvalidity: number | null, lastUid: number | null, highestModseq: number | null): boolean {
    if (this.problem !== null) return true;
    const n = to - from;
    if (n === 0 || n > MAX_NAME_LENGTH || !inRange(uidvalidity, 1, MAX_UIDVALIDITY) || !inRange(lastUid, 0, Number.MAX_SAFE_INTEGER) || !inRange(highestModseq, 0, Number.MAX_SAFE_INTEGER)) return false;
    this.reserve(n + ROW_BYTES);
    const bytes = this.bytes;
    const start = this.nameStart();
    let at = start;
    bytes[at++] = QUOTE;
    for (let i = from; i < to; i++) {
      const byte = page[i]!;
      if (byte < 0x20 || byte > 0x7e || byte === QUOTE || byte === BACKSLASH) return false;
      bytes[at++] = byte;
    }
    bytes[at++] = QUOTE;
    if (this.isDuplicate(id, start, at)) return true;
    this.length = at;
    this.integer(uidvalidity!);
    this.integer(lastUid!);
    this.integer(highestModseq!);
    bytes[this.length++] = CLOSE;
    return true;
  }

  /** Row `id`, its values as read: a string and integers (bigint from SQLite) when they are what Cyrus writes. */
  add(id: number | bigint, name: unknown, uidvalidity: unknown, lastUid: unknown, highestModseq: unknown): void {
    if (this.problem !== null) return;
    const problem = mailboxProblem(name, uidvalidity, lastUid, highestModseq);
    if (problem) {
      this.problem = describeProblem(`mailbox row ${id}`, name, problem);
      return;
    }
    const quoted = JSON.stringify(name);
    const rest = `,${uidvalidity as number | bigint},${lastUid as number | bigint},${highestModseq as number | bigint}]`;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.reserve(3 * (quoted.length + rest.length) + ROW_BYTES);
    const start = this.nameStart();
    const end = start + this.bytes.write(quoted, start);
    if (this.isDuplicate(id, start, end)) return;
    this.length = end + this.bytes.write(rest, end);
  }

  /** The rows in the scan's encoding (encodeBackedUpMailboxes); the first bad one makes `indexFile` corrupt. */
  encoded(indexFile: string): string {
    if (this.problem !== null) throw new BackupIndexError(indexFile, 'corrupt', this.problem);
    this.bytes[this.length] = CLOSE;
    return this.bytes.toString('utf8', 0, this.length + 1);
  }

  /** Where the next row's name goes: after `[`, and the comma before it unless it is the first. */
  private nameStart(): number {
    const start = this.length + (this.ids.length > 0 ? 2 : 1);
    if (this.ids.length > 0) this.bytes[start - 2] = COMMA;
    this.bytes[start - 1] = OPEN;
    return start;
  }

  /** Whether the quoted name at `bytes[start, end)` is an earlier row's (the problem, then); if not, it is noted. */
  private isDuplicate(id: number | bigint, start: number, end: number): boolean {
    const bytes = this.bytes;
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    // Small integers stay unboxed in a Set.
    hash &= 0x3fffffff;
    if (this.hashes.has(hash)) {
      for (let row = 0; row < this.ids.length; row++) {
        const [from, to] = [this.nameAt[2 * row]!, this.nameAt[2 * row + 1]!];
        if (to - from === end - start && bytes.compare(bytes, start, end, from, to) === 0) {
          this.problem = `mailbox rows ${this.ids[row]} and ${id} are both named ${bytes.toString('utf8', start, end)}, and neither is deleted`;
          return true;
        }
      }
    }
    this.hashes.add(hash);
    this.nameAt.push(start, end);
    this.ids.push(id);
    return false;
  }

  /** `,` and the digits of a safe integer ≥ 0, as String() writes them. */
  private integer(value: number): void {
    const bytes = this.bytes;
    bytes[this.length++] = COMMA;
    let digits = 1;
    while (digits < POWERS_OF_TEN.length && value >= POWERS_OF_TEN[digits]!) digits++;
    let at = this.length + digits - 1;
    this.length += digits;
    let rest = value;
    // Beyond 2^31 in floating point, then in integer arithmetic, much the cheaper (UIDVALIDITYs have 10 digits).
    for (; rest > 0x7fffffff; at--) {
      const digit = rest % 10;
      bytes[at] = 0x30 + digit;
      rest = (rest - digit) / 10;
    }
    for (; at >= this.length - digits; at--) {
      const next = (rest / 10) | 0;
      bytes[at] = 0x30 + rest - 10 * next;
      rest = next;
    }
  }

  /** Room for `more` bytes and the closing `]`. */
  private reserve(more: number): void {
    if (this.length + more < this.bytes.length) return;
    const bigger = Buffer.allocUnsafe(2 * (this.length + more));
    this.bytes.copy(bigger, 0, 0, this.length);
    this.bytes = bigger;
  }
}

function inRange(value: number | null, min: number, max: number): boolean {
  return value !== null && value >= min && value <= max;
}
