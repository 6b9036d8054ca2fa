import { describeProblem, mailboxProblem, MAX_NAME_LENGTH, MAX_UIDVALIDITY } from './backed-up-mailboxes.js';
import { BackupIndexError } from './index-error.js';

const OPEN = 0x5b;
const CLOSE = 0x5d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Room for a row besides its name (`,[`, the name's quotes, three integers of up to 16 digits and their commas, `]`), and for the closing `]`. */
const ROW_BYTES = 64;
/** A MailboxRows's buffer and lists (each row's name's place in the buffer, its id, its name's hash), free for the next one. */
interface Scratch {
  bytes: Buffer;
  nameAt: number[];
  ids: Array<number | bigint>;
  hashes: number[];
}
let spare: Scratch | null = null;
const SPARE_BYTES = 65536;

/** FNV-1a's 32-bit offset basis and prime. */
const FNV_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Up to this many rows, a name's hash is looked for in a list. */
const LISTED_HASHES = 32;
/** 10^0 to 10^15: a safe integer has at most 16 digits. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * The live rows of an index's mailbox table as either reader meets them, in id order, each validated as
 * it is added, so that the pages and SQLite judge the same rows the same way. The good ones are written
 * as encodeBackedUpMailboxes's text, in UTF-8 into a buffer that makes one flat string: a scan reads a
 * million rows, and keeps nothing of them but that text. The buffer and the lists beside it pass on to
 * the next MailboxRows once the text is made, so that a scan's hundred thousand indexes allocate none.
 *
 * The first bad row is kept, not thrown: the page reader may only say so once it has proven that no
 * write overlapped its read, and the summary checks the chunk table first.
 */
export class MailboxRows {
  /** The buffer and lists this one writes, until its text is made. */
  private readonly scratch: Scratch;
  /** Bytes written: `[` and the rows so far (`bytes` has room for one more, the closing `]`). */
  private length = 1;
  /** Rows kept: the first `rows` entries of the scratch's lists are theirs. */
  private rows = 0;
  /** The hashes as a set, once there are more than an index mostly holds: a search of the list is cheaper below that. */
  private hashSet: Set<number> | null = null;
  /** Whether every byte written is ASCII: the text is then made as Latin-1, which needs no decoding. */
  private ascii = true;
  /** What is wrong with the first bad row; rows after it are not looked at. */
  private problem: string | null = null;
  /** The text, once made: the scratch is then another MailboxRows's. */
  private text: string | null = null;

  constructor() {
    this.scratch = spare ?? { bytes: Buffer.allocUnsafe(1024), nameAt: [], ids: [], hashes: [] };
    spare = null;
    this.scratch.bytes[0] = OPEN;
  }

  /**
   * Row `id`, read from a page: its name the bytes `page[from, to)`, its integers as read (null for NULL).
   * Taken when they are what JSON writes as they are and mailboxProblem accepts: a name of printable
   * ASCII without a quote or a backslash, integers in range. False otherwise, and the caller passes the
   * row to add() instead, its name decoded.
   */
  addPlain(id: number, page: Buffer, from: number, to: number, uidvalidity: number | null, lastUid: number | null, highestModseq: number | null): boolean {
    this.open();
    if (this.problem !== null) return true;
    const n = to - from;
    if (n === 0 || n > MAX_NAME_LENGTH || !inRange(uidvalidity, 1, MAX_UIDVALIDITY) || !inRange(lastUid, 0, Number.MAX_SAFE_INTEGER) || !inRange(highestModseq, 0, Number.MAX_SAFE_INTEGER)) return false;
    this.reserve(n + ROW_BYTES);
    const bytes = this.scratch.bytes;
    const start = this.nameStart();
    let at = start;
    bytes[at++] = QUOTE;
    // The name's hash (isDuplicate's) as it is copied: FNV-1a over the quoted name.
    let hash = Math.imul(FNV_BASIS ^ QUOTE, FNV_PRIME);
    for (let i = from; i < to; i++) {
      const byte = page[i]!;
      if (byte < 0x20 || byte > 0x7e || byte === QUOTE || byte === BACKSLASH) return false;
      bytes[at++] = byte;
      hash = Math.imul(hash ^ byte, FNV_PRIME);
    }
    bytes[at++] = QUOTE;
    if (this.isDuplicate(id, start, at, Math.imul(hash ^ QUOTE, FNV_PRIME))) return true;
    this.length = at;
    this.integer(uidvalidity!);
    this.integer(lastUid!);
    this.integer(highestModseq!);
    bytes[this.length++] = CLOSE;
    return true;
  }

  /** Row `id`, its values as read: a string and integers (bigint from SQLite) when they are what Cyrus writes. */
  add(id: number | bigint, name: unknown, uidvalidity: unknown, lastUid: unknown, highestModseq: unknown): void {
    this.open();
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
    const bytes = this.scratch.bytes;
    const end = start + bytes.write(quoted, start);
    let hash = FNV_BASIS;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, FNV_PRIME);
    if (this.isDuplicate(id, start, end, hash)) return;
    this.length = end + bytes.write(rest, end);
    // UTF-8 writes a UTF-16 unit in one byte only when it is ASCII.
    this.ascii &&= end - start === quoted.length;
  }

  /** The rows in the scan's encoding (encodeBackedUpMailboxes); the first bad one makes `indexFile` corrupt. */
  encoded(indexFile: string): string {
    if (this.text === null) {
      const { bytes } = this.scratch;
      bytes[this.length] = CLOSE;
      this.text = this.problem === null ? bytes.toString(this.ascii ? 'latin1' : 'utf8', 0, this.length + 1) : '';
      // A buffer grown for a rare index of thousands of mailboxes is let go rather than kept for good.
      if (bytes.length <= SPARE_BYTES) spare = this.scratch;
    }
    if (this.problem !== null) throw new BackupIndexError(indexFile, 'corrupt', this.problem);
    return this.text;
  }

  /** Rows are added before the text is made, never after: the scratch is no longer this one's then. */
  private open(): void {
    if (this.text !== null) throw new Error('a mailbox row added after the rows were encoded');
  }

  /** Where the next row's name goes: after `[`, and the comma before it unless it is the first. */
  private nameStart(): number {
    const { bytes } = this.scratch;
    const start = this.length + (this.rows > 0 ? 2 : 1);
    if (this.rows > 0) bytes[start - 2] = COMMA;
    bytes[start - 1] = OPEN;
    return start;
  }

  /** Whether the quoted name at `bytes[start, end)`, of hash `hash`, is an earlier row's (the problem, then); if not, it is noted. */
  private isDuplicate(id: number | bigint, start: number, end: number, hash: number): boolean {
    const { bytes, nameAt, ids, hashes } = this.scratch;
    // Small integers stay unboxed in a list and a Set.
    const key = hash & 0x3fffffff;
    const rows = this.rows;
    if (this.hashSet === null || this.hashSet.has(key)) {
      for (let row = 0; row < rows; row++) {
        if (hashes[row] !== key) continue;
        const from = nameAt[2 * row]!;
        const to = nameAt[2 * row + 1]!;
        if (to - from === end - start && bytes.compare(bytes, start, end, from, to) === 0) {
          this.problem = `mailbox rows ${ids[row]} and ${id} are both named ${bytes.toString('utf8', start, end)}, and neither is deleted`;
          return true;
        }
      }
    }
    hashes[rows] = key;
    nameAt[2 * rows] = start;
    nameAt[2 * rows + 1] = end;
    ids[rows] = id;
    this.rows = rows + 1;
    if (this.hashSet) this.hashSet.add(key);
    else if (this.rows > LISTED_HASHES) this.hashSet = new Set(hashes.slice(0, this.rows));
    return false;
  }

  /** `,` and the digits of a safe integer ≥ 0, as String() writes them. */
  private integer(value: number): void {
    const { bytes } = this.scratch;
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
    const { bytes } = this.scratch;
    if (this.length + more < bytes.length) return;
    const bigger = Buffer.allocUnsafe(2 * (this.length + more));
    bytes.copy(bigger, 0, 0, this.length);
    this.scratch.bytes = bigger;
  }
}

function inRange(value: number | null, min: number, max: number): boolean {
  return value !== null && value >= min && value <= max;
}
