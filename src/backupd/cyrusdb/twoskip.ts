import { crc32 } from 'node:zlib';
import { TWOSKIP_MAGIC } from './detect.js';
import { CyrusDbError, type CyrusDbErrorCode } from './errors.js';
import type { CyrusDbEntry } from './types.js';
import { checkHeaderStart } from './header-start.js';

// Layout facts from the format spec (docs/cyrusdb-formats.md §2).
export const TWOSKIP_HEADER_SIZE = 64;
const DUMMY_OFFSET = 64;
const EMPTY_DATABASE_SIZE = 336; // header + DUMMY: the smallest committed file
const MIN_RECORD_SIZE = 24; // fixed fields + one pointer slot + the two CRCs
const MAX_LEVEL = 31;
const NUM_RECORDS_OFFSET = 32;
const FLAG_DIRTY = 1;
const KEY_LENGTH_ESCAPE = 0xffff;
const VALUE_LENGTH_ESCAPE = 0xffffffff;

const TYPE_DUMMY = 0x3d; // '='
const TYPE_RECORD = 0x2b; // '+'
const TYPE_DELETE = 0x2d; // '-'

/**
 * All live pairs of a twoskip file, in key order, from a byte snapshot of it.
 * Walks level 0 from the DUMMY and never looks past current_size, so a writer's
 * uncommitted tail (and its relinking of committed heads) is invisible.
 * Throws CyrusDbError; never returns partial content.
 */
export function parseTwoskip(bytes: Buffer, file: string): CyrusDbEntry[] {
  const header = readHeader(bytes, file);
  const record = new RecordView(bytes, header.currentSize, file);

  if (record.load(DUMMY_OFFSET) !== TYPE_DUMMY || record.keyLength !== 0 || record.valueLength !== 0 || record.level < 1) {
    throw record.error('BAD_RECORD', 'the list head at offset 64 is not a valid DUMMY record');
  }

  const entries: CyrusDbEntry[] = [];
  let previousKey: Buffer | undefined;
  let next = record.levelZeroSuccessor();
  // Strictly increasing keys already rule out cycles; this only bounds the work.
  const maxSteps = Math.floor(header.currentSize / MIN_RECORD_SIZE);

  for (let steps = 0; next !== 0; steps++) {
    if (steps > maxSteps) throw record.error('BAD_RECORD', 'the level-0 chain is longer than the file can hold');
    let type = record.load(next);
    if (type === TYPE_DELETE) {
      next = record.slot(0);
      if (next === 0) break;
      type = record.load(next);
      if (type === TYPE_DELETE) throw record.error('BAD_RECORD', 'a DELETE record leads to another DELETE');
    }
    if (type !== TYPE_RECORD || record.level < 1) {
      throw record.error('BAD_RECORD', `level-0 chain reaches a record of type 0x${hex(type, 2)} level ${record.level}, expected an add record`);
    }
    if (record.keyLength === 0) throw record.error('BAD_RECORD', 'record with an empty key');
    record.verifyTailCrc();

    const key = record.key();
    if (previousKey !== undefined && Buffer.compare(key, previousKey) <= 0) {
      throw record.error('BAD_ORDER', 'key is not greater than the previous key on the level-0 chain');
    }
    entries.push({ key, value: record.value() });
    previousKey = key;
    next = record.levelZeroSuccessor();
  }

  // num_records is written ahead during a transaction, so it only means something when clean.
  if (!header.dirty && entries.length !== header.numRecords) {
    throw new CyrusDbError('COUNT_MISMATCH', file, `header says ${header.numRecords} records but the level-0 chain holds ${entries.length}`, {
      offset: NUM_RECORDS_OFFSET,
      backend: 'twoskip',
    });
  }
  return entries;
}

interface TwoskipHeader {
  numRecords: number;
  currentSize: number;
  dirty: boolean;
}

function readHeader(bytes: Buffer, file: string): TwoskipHeader {
  const fail = (code: CyrusDbErrorCode, problem: string, offset?: number) =>
    new CyrusDbError(code, file, problem, { offset, backend: 'twoskip' });

  checkHeaderStart(bytes, 'twoskip', TWOSKIP_HEADER_SIZE, TWOSKIP_MAGIC, fail);
  const storedCrc = bytes.readUInt32BE(60);
  const computedCrc = crc32(bytes.subarray(0, 60));
  if (storedCrc !== computedCrc) {
    throw fail('HEADER_CRC', `header CRC is 0x${hex(storedCrc, 8)} but the header hashes to 0x${hex(computedCrc, 8)}`, 60);
  }

  const currentSize = readUInt64(bytes, 48);
  if (!(currentSize >= EMPTY_DATABASE_SIZE && currentSize % 8 === 0)) {
    throw fail('BAD_HEADER', `current_size ${currentSize} is impossible (must be a multiple of 8 and at least ${EMPTY_DATABASE_SIZE})`, 48);
  }
  if (bytes.length < currentSize) {
    throw fail('TRUNCATED', `file has ${bytes.length} bytes but the header says ${currentSize} are committed`);
  }
  return {
    numRecords: readUInt64(bytes, NUM_RECORDS_OFFSET),
    currentSize,
    dirty: (bytes.readUInt32BE(56) & FLAG_DIRTY) !== 0,
  };
}

/**
 * A reusable view of the record at one offset, bounds- and CRC-checked on load.
 * Reused for every record so that walking the chain allocates nothing but the
 * key/value views it returns.
 */
class RecordView {
  offset = 0;
  level = 0;
  keyLength = 0;
  valueLength = 0;
  private slotsStart = 0;
  private keyStart = 0;

  constructor(
    private readonly bytes: Buffer,
    /** current_size: everything at or past it is uncommitted. */
    private readonly limit: number,
    private readonly file: string,
  ) {}

  /** Makes this the view of the record at `offset` and returns its type byte. */
  load(offset: number): number {
    // Not a position at all: blame the record holding the pointer (still this.offset), not "offset Infinity".
    if (offset === Infinity) throw this.error('BAD_RECORD', 'a pointer of this record is beyond 2^53, far past the end of the file');
    this.offset = offset;
    if (offset % 8 !== 0 || offset < DUMMY_OFFSET || offset + MIN_RECORD_SIZE > this.limit) {
      throw this.error('BAD_RECORD', `pointer to ${offset} is unaligned or outside the committed range [64, ${this.limit})`);
    }
    const bytes = this.bytes;
    const type = bytes[offset];
    this.level = bytes[offset + 1];
    if (this.level > MAX_LEVEL) throw this.error('BAD_RECORD', `record level ${this.level} is above ${MAX_LEVEL}`);

    let cursor = offset + 8;
    let keyLength = bytes.readUInt16BE(offset + 2);
    if (keyLength === KEY_LENGTH_ESCAPE) {
      keyLength = this.readEscapedLength(cursor, 'key');
      cursor += 8;
    }
    let valueLength = bytes.readUInt32BE(offset + 4);
    if (valueLength === VALUE_LENGTH_ESCAPE) {
      valueLength = this.readEscapedLength(cursor, 'value');
      cursor += 8;
    }
    this.slotsStart = cursor;
    const headEnd = cursor + 8 * (this.level + 1);
    this.keyStart = headEnd + 8;
    // Both lengths are already known to be <= limit, so this sum is exact.
    if (this.keyStart + roundUp8(keyLength + valueLength) > this.limit) {
      throw this.error('BAD_RECORD', `record (key ${keyLength} bytes, value ${valueLength} bytes) runs past current_size ${this.limit}`);
    }
    this.keyLength = keyLength;
    this.valueLength = valueLength;

    const storedCrc = bytes.readUInt32BE(headEnd);
    const computedCrc = crc32(bytes.subarray(offset, headEnd));
    if (storedCrc !== computedCrc) {
      throw this.error('RECORD_HEAD_CRC', `record head CRC is 0x${hex(storedCrc, 8)} but the head hashes to 0x${hex(computedCrc, 8)}`);
    }
    return type;
  }

  /** Pointer slot i as a number; a value beyond the safe-integer range becomes Infinity (never a valid offset). */
  slot(i: number): number {
    return readUInt64(this.bytes, this.slotsStart + 8 * i);
  }

  /**
   * Of the two level-0 slots, the newest one that is committed (< current_size;
   * 0 = end of list counts). A writer only ever overwrites the other one.
   */
  levelZeroSuccessor(): number {
    const first = this.slot(0);
    const second = this.slot(1);
    const firstOk = first < this.limit;
    const secondOk = second < this.limit;
    if (firstOk && secondOk) return Math.max(first, second);
    if (firstOk) return first;
    if (secondOk) return second;
    throw this.error('BAD_RECORD', `both level-0 pointers (${first}, ${second}) are at or past current_size ${this.limit}`);
  }

  verifyTailCrc(): void {
    const tailEnd = this.keyStart + roundUp8(this.keyLength + this.valueLength);
    const storedCrc = this.bytes.readUInt32BE(this.keyStart - 4);
    const computedCrc = crc32(this.bytes.subarray(this.keyStart, tailEnd));
    if (storedCrc !== computedCrc) {
      throw this.error('RECORD_TAIL_CRC', `record tail CRC is 0x${hex(storedCrc, 8)} but key and value hash to 0x${hex(computedCrc, 8)}`);
    }
  }

  key(): Buffer {
    return this.bytes.subarray(this.keyStart, this.keyStart + this.keyLength);
  }

  value(): Buffer {
    const valueStart = this.keyStart + this.keyLength;
    return this.bytes.subarray(valueStart, valueStart + this.valueLength);
  }

  error(code: CyrusDbErrorCode, problem: string): CyrusDbError {
    return new CyrusDbError(code, this.file, problem, { offset: this.offset, backend: 'twoskip' });
  }

  /** A 64-bit length field; checked against the committed size before anything is sized by it. */
  private readEscapedLength(at: number, what: string): number {
    if (at + 8 > this.limit) throw this.error('BAD_RECORD', `escaped ${what} length field runs past current_size ${this.limit}`);
    const length = readUInt64(this.bytes, at);
    if (length > this.limit) throw this.error('BAD_RECORD', `escaped ${what} length ${length === Infinity ? 'above 2^53' : length} is larger than the committed file`);
    return length;
  }
}

/** Unsigned 64-bit big-endian as a number, or Infinity when above Number.MAX_SAFE_INTEGER (no BigInt needed). */
function readUInt64(bytes: Buffer, at: number): number {
  const high = bytes.readUInt32BE(at);
  if (high > 0x1fffff) return Infinity;
  return high * 0x100000000 + bytes.readUInt32BE(at + 4);
}

function roundUp8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, '0');
}
