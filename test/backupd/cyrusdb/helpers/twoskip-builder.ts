// Builds synthetic twoskip files record by record, for the edge cases Cyrus
// itself never writes (both level-0 slots uncommitted, DELETE -> DELETE, absurd
// escaped lengths, ...). Written from the format spec, independent of the reader.
import * as zlib from 'node:zlib';

/** A pointer slot: an absolute offset, or `{ to: i }` for the offset of record i. */
export type Slot = number | bigint | { to: number };

export interface SyntheticRecord {
  /** '=' DUMMY, '+' RECORD, '-' DELETE, '$' COMMIT, or any byte. */
  type: '=' | '+' | '-' | '$' | number;
  level: number;
  key?: Buffer;
  value?: Buffer;
  /** s[0] ... s[level]; missing slots are 0. */
  slots?: Slot[];
  /** Write the key length with the 0xFFFF escape, as this 64-bit value (default: the real length). */
  escapedKeyLength?: bigint | true;
  /** Write the value length with the 0xFFFFFFFF escape, as this 64-bit value (default: the real length). */
  escapedValueLength?: bigint | true;
}

export interface SyntheticFile {
  /** Laid out from offset 64 in this order; the first should be the DUMMY. */
  records: SyntheticRecord[];
  /** Default: the number of '+' records. */
  numRecords?: number;
  dirty?: boolean;
  /** Default: the end of the last record. */
  currentSize?: number | ((offsets: number[]) => number);
}

export interface BuiltFile {
  bytes: Buffer;
  /** Offset of each record. */
  offsets: number[];
}

const MAGIC = Buffer.from('a1028b0d74776f736b69702066696c6500000000', 'hex');
const roundUp8 = (n: number) => Math.ceil(n / 8) * 8;

function recordSize(record: SyntheticRecord): number {
  const escapes = (record.escapedKeyLength === undefined ? 0 : 8) + (record.escapedValueLength === undefined ? 0 : 8);
  const data = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  return 8 + escapes + 8 * (record.level + 1) + 8 + roundUp8(data);
}

export function buildTwoskip(file: SyntheticFile): BuiltFile {
  const offsets: number[] = [];
  let end = 64;
  for (const record of file.records) {
    offsets.push(end);
    end += recordSize(record);
  }
  const bytes = Buffer.alloc(end);
  file.records.forEach((record, i) => writeRecord(bytes, offsets[i], record, offsets));

  MAGIC.copy(bytes, 0);
  bytes.writeUInt32BE(1, 20); // version
  bytes.writeBigUInt64BE(1n, 24); // generation
  const numRecords = file.numRecords ?? file.records.filter((record) => record.type === '+').length;
  bytes.writeBigUInt64BE(BigInt(numRecords), 32);
  bytes.writeBigUInt64BE(BigInt(end), 40); // repack_size
  const currentSize = typeof file.currentSize === 'function' ? file.currentSize(offsets) : file.currentSize ?? end;
  bytes.writeBigUInt64BE(BigInt(currentSize), 48);
  bytes.writeUInt32BE(file.dirty ? 1 : 0, 56);
  bytes.writeUInt32BE(zlib.crc32(bytes.subarray(0, 60)), 60);
  return { bytes, offsets };
}

function writeRecord(bytes: Buffer, offset: number, record: SyntheticRecord, offsets: number[]): void {
  const key = record.key ?? Buffer.alloc(0);
  const value = record.value ?? Buffer.alloc(0);
  bytes[offset] = typeof record.type === 'number' ? record.type : record.type.charCodeAt(0);
  bytes[offset + 1] = record.level;
  let cursor = offset + 8;
  if (record.escapedKeyLength === undefined) {
    bytes.writeUInt16BE(key.length, offset + 2);
  } else {
    bytes.writeUInt16BE(0xffff, offset + 2);
    bytes.writeBigUInt64BE(record.escapedKeyLength === true ? BigInt(key.length) : record.escapedKeyLength, cursor);
    cursor += 8;
  }
  if (record.escapedValueLength === undefined) {
    bytes.writeUInt32BE(value.length, offset + 4);
  } else {
    bytes.writeUInt32BE(0xffffffff, offset + 4);
    bytes.writeBigUInt64BE(record.escapedValueLength === true ? BigInt(value.length) : record.escapedValueLength, cursor);
    cursor += 8;
  }
  for (let i = 0; i <= record.level; i++) {
    const slot = record.slots?.[i] ?? 0;
    const target = typeof slot === 'object' ? BigInt(offsets[slot.to]) : BigInt(slot);
    bytes.writeBigUInt64BE(target, cursor + 8 * i);
  }
  const headEnd = cursor + 8 * (record.level + 1);
  bytes.writeUInt32BE(zlib.crc32(bytes.subarray(offset, headEnd)), headEnd);
  const keyStart = headEnd + 8;
  key.copy(bytes, keyStart);
  value.copy(bytes, keyStart + key.length);
  bytes.writeUInt32BE(zlib.crc32(bytes.subarray(keyStart, keyStart + roundUp8(key.length + value.length))), headEnd + 4);
}

/**
 * A valid file holding `pairs` (already in key order) as one committed
 * transaction: DUMMY, one level-1 RECORD per pair linked through s[1], COMMIT.
 */
export function simpleTwoskip(pairs: readonly (readonly [string, string])[]): SyntheticFile {
  const records: SyntheticRecord[] = [{ type: '=', level: 31, slots: [0, pairs.length > 0 ? { to: 1 } : 0] }];
  pairs.forEach(([key, value], i) => {
    records.push({ type: '+', level: 1, key: Buffer.from(key), value: Buffer.from(value), slots: [0, i + 1 < pairs.length ? { to: i + 2 } : 0] });
  });
  records.push({ type: '$', level: 0, slots: [336] });
  return { records };
}
