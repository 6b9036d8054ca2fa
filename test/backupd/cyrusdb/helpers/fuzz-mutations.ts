// Damage for the cyrusdb fuzz suite: byte-level mutations (truncation, bit flips, overwrites,
// splices) and structure-aware ones that cut a whole record out or set a named field of a real
// record (a length, a level, a pointer, a key byte, a header field) to a hostile value. twoskip guards everything with CRCs, so its CRCs
// can be recomputed after the damage: otherwise nearly every mutation stops at the first CRC check
// and the code behind it is never reached. Written from the format spec, independent of the reader.
import * as zlib from 'node:zlib';
import type { CyrusDbBackend } from '../../../../src/backupd/cyrusdb/types.js';

const TWOSKIP_BLANK = Buffer.from(' BLANK\x07\xa0', 'latin1');
const SKIPLIST_TYPES = { INORDER: 1, ADD: 2, DELETE: 4, COMMIT: 255, DUMMY: 257 } as const;
const roundUp8 = (n: number) => Math.ceil(n / 8) * 8;
const roundUp4 = (n: number) => Math.ceil(n / 4) * 4;

/** The offsets of the records (twoskip, skiplist) or lines (flat) of a well-formed file, in file order. */
export function recordOffsets(bytes: Buffer, backend: CyrusDbBackend): number[] {
  if (backend === 'twoskip') return twoskipRecordOffsets(bytes);
  if (backend === 'skiplist') return skiplistRecordOffsets(bytes);
  const starts = bytes.length === 0 ? [] : [0];
  for (let i = bytes.indexOf(0x0a); i !== -1 && i + 1 < bytes.length; i = bytes.indexOf(0x0a, i + 1)) starts.push(i + 1);
  return starts;
}

function twoskipRecordOffsets(bytes: Buffer): number[] {
  const end = Math.min(bytes.length, Number(bytes.readBigUInt64BE(48)));
  const offsets: number[] = [];
  for (let offset = 64; offset + 8 <= end; ) {
    if (bytes.subarray(offset, offset + 8).equals(TWOSKIP_BLANK)) {
      offset += 8;
      continue;
    }
    offsets.push(offset);
    offset = twoskipLayout(bytes, offset)!.end;
  }
  return offsets;
}

interface TwoskipLayout {
  level: number;
  keyLength: number;
  valueLength: number;
  /** Offset of slot 0. */
  slots: number;
  headEnd: number;
  end: number;
}

/** The layout the head at `offset` declares, or undefined when its length fields do not fit a Number. */
function twoskipLayout(bytes: Buffer, offset: number): TwoskipLayout | undefined {
  if (offset + 8 > bytes.length) return undefined;
  const level = bytes[offset + 1]!;
  let keyLength = bytes.readUInt16BE(offset + 2);
  let valueLength = bytes.readUInt32BE(offset + 4);
  let cursor = offset + 8;
  for (const which of ['key', 'value'] as const) {
    const escaped = which === 'key' ? keyLength === 0xffff : valueLength === 0xffffffff;
    if (!escaped) continue;
    if (cursor + 8 > bytes.length) return undefined;
    const long = bytes.readBigUInt64BE(cursor);
    if (long > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    if (which === 'key') keyLength = Number(long);
    else valueLength = Number(long);
    cursor += 8;
  }
  const headEnd = cursor + 8 * (level + 1);
  return { level, keyLength, valueLength, slots: cursor, headEnd, end: headEnd + 8 + roundUp8(keyLength + valueLength) };
}

function skiplistRecordOffsets(bytes: Buffer): number[] {
  const offsets: number[] = [];
  for (let offset = 48; offset + 4 <= bytes.length; ) {
    const type = bytes.readUInt32BE(offset);
    if (type === 0) {
      offset += 4;
      continue;
    }
    offsets.push(offset);
    if (type === SKIPLIST_TYPES.DELETE) offset += 8;
    else if (type === SKIPLIST_TYPES.COMMIT) offset += 4;
    else if (type === SKIPLIST_TYPES.INORDER || type === SKIPLIST_TYPES.ADD || type === SKIPLIST_TYPES.DUMMY) {
      const node = skiplistNode(bytes, offset);
      if (node === undefined) break;
      offset = node.end;
    } else break; // an unfinished tail
  }
  return offsets;
}

function skiplistNode(bytes: Buffer, offset: number): { valueLengthAt: number; firstPointer: number; end: number } | undefined {
  if (offset + 8 > bytes.length) return undefined;
  const valueLengthAt = offset + 8 + roundUp4(bytes.readUInt32BE(offset + 4));
  if (valueLengthAt + 4 > bytes.length) return undefined;
  const firstPointer = valueLengthAt + 4 + roundUp4(bytes.readUInt32BE(valueLengthAt));
  for (let at = firstPointer; at + 4 <= bytes.length; at += 4) {
    if (bytes.readUInt32BE(at) === 0xffffffff) return { valueLengthAt, firstPointer, end: at + 4 };
  }
  return undefined;
}

/** A value written into a field: absolute, relative to the file size, or the offset of one of the file's records. */
export type HostileValue =
  | { base: 'literal'; value: bigint }
  | { base: 'fileSize'; delta: number }
  | { base: 'record'; index: number; delta: number };

export type TwoskipField =
  | 'type' | 'level' | 'keyLength' | 'valueLength' | 'keyLength64' | 'valueLength64' | 'slot0' | 'slot1' | 'slotLast'
  | 'currentSize' | 'numRecords' | 'flags';
export type SkiplistField =
  | 'type' | 'keyLength' | 'valueLength' | 'firstPointer' | 'lastPointer' | 'keyByte' | 'deleteTarget'
  | 'maxLevel' | 'currentLevel' | 'listSize' | 'logStart';

export type Mutation =
  | { op: 'truncate'; at: number }
  | { op: 'flip'; at: number; bit: number }
  | { op: 'overwrite'; at: number; bytes: Uint8Array }
  | { op: 'splice'; at: number; remove: number; insert: Uint8Array }
  /** Cuts record `record` (an index into the original file's records) out of the file. */
  | { op: 'dropRecord'; record: number }
  | { op: 'field'; record: number; field: TwoskipField | SkiplistField; value: HostileValue };

/**
 * `original` with the mutations applied in order (positions are taken modulo the current length;
 * `record` indexes the records of the original file). For twoskip, `repairCrcs` then recomputes
 * the header CRC and the head and tail CRC of every original record wherever they still fit.
 */
export function mutate(original: Buffer, backend: CyrusDbBackend, mutations: readonly Mutation[], repairCrcs: boolean): Buffer {
  const records = recordOffsets(original, backend);
  let bytes = Buffer.from(original);
  for (const m of mutations) {
    const at = 'at' in m ? m.at % (bytes.length + 1) : 0;
    switch (m.op) {
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      case 'flip':
        if (at < bytes.length) bytes[at]! ^= 1 << (m.bit & 7);
        break;
      case 'overwrite':
        Buffer.from(m.bytes).copy(bytes, at);
        break;
      case 'splice':
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(m.insert), bytes.subarray(Math.min(bytes.length, at + m.remove))]);
        break;
      case 'dropRecord':
        if (records.length > 0) {
          const index = m.record % records.length;
          bytes = Buffer.concat([bytes.subarray(0, records[index]!), bytes.subarray(records[index + 1] ?? original.length)]);
        }
        break;
      case 'field':
        if (records.length > 0) {
          const value = resolve(m.value, bytes.length, records);
          const record = records[m.record % records.length]!;
          if (backend === 'twoskip') setTwoskipField(bytes, record, m.field as TwoskipField, value);
          else if (backend === 'skiplist') setSkiplistField(bytes, record, m.field as SkiplistField, value);
        }
        break;
    }
  }
  if (backend === 'twoskip' && repairCrcs) repairTwoskipCrcs(bytes, records);
  return bytes;
}

function resolve(value: HostileValue, fileSize: number, records: readonly number[]): bigint {
  if (value.base === 'literal') return value.value;
  const base = value.base === 'fileSize' ? fileSize : records[value.index % records.length]!;
  return BigInt(Math.max(0, base + value.delta));
}

/** Writes `value` (truncated to the field's width) at `at`, if the whole field is inside the file. */
function put(bytes: Buffer, at: number, width: 1 | 2 | 4 | 8, value: bigint): void {
  if (at < 0 || at + width > bytes.length) return;
  const truncated = BigInt.asUintN(width * 8, value);
  if (width === 8) bytes.writeBigUInt64BE(truncated, at);
  else bytes.writeUIntBE(Number(truncated), at, width);
}

function setTwoskipField(bytes: Buffer, record: number, field: TwoskipField, value: bigint): void {
  const layout = twoskipLayout(bytes, record);
  switch (field) {
    case 'currentSize': return put(bytes, 48, 8, value);
    case 'numRecords': return put(bytes, 32, 8, value);
    case 'flags': return put(bytes, 56, 4, value);
    case 'type': return put(bytes, record, 1, value);
    case 'level': return put(bytes, record + 1, 1, value);
    case 'keyLength': return put(bytes, record + 2, 2, value);
    case 'valueLength': return put(bytes, record + 4, 4, value);
    // Escaped lengths take the place of what followed the fixed fields (a slot, usually).
    case 'keyLength64':
      put(bytes, record + 2, 2, 0xffffn);
      return put(bytes, record + 8, 8, value);
    case 'valueLength64': {
      const keyEscaped = record + 4 <= bytes.length && bytes.readUInt16BE(record + 2) === 0xffff;
      put(bytes, record + 4, 4, 0xffffffffn);
      return put(bytes, record + (keyEscaped ? 16 : 8), 8, value);
    }
    case 'slot0':
    case 'slot1':
    case 'slotLast': {
      if (layout === undefined) return;
      const slot = field === 'slot0' ? 0 : field === 'slot1' ? 1 : layout.level;
      return put(bytes, layout.slots + 8 * slot, 8, value);
    }
  }
}

function setSkiplistField(bytes: Buffer, record: number, field: SkiplistField, value: bigint): void {
  switch (field) {
    case 'maxLevel': return put(bytes, 28, 4, value);
    case 'currentLevel': return put(bytes, 32, 4, value);
    case 'listSize': return put(bytes, 36, 4, value);
    case 'logStart': return put(bytes, 40, 4, value);
    case 'type': return put(bytes, record, 4, value);
    case 'keyLength':
    case 'deleteTarget':
      return put(bytes, record + 4, 4, value);
    case 'valueLength':
    case 'firstPointer':
    case 'lastPointer':
    case 'keyByte': {
      const type = record + 4 <= bytes.length ? bytes.readUInt32BE(record) : 0;
      const isNode = type === SKIPLIST_TYPES.INORDER || type === SKIPLIST_TYPES.ADD || type === SKIPLIST_TYPES.DUMMY;
      const node = isNode ? skiplistNode(bytes, record) : undefined;
      if (node === undefined) return;
      if (field === 'valueLength') return put(bytes, node.valueLengthAt, 4, value);
      if (field === 'firstPointer') return put(bytes, node.firstPointer, 4, value);
      // The word before the terminator is the top pointer, unless the node has none.
      if (field === 'lastPointer') return node.end - 8 >= node.firstPointer ? put(bytes, node.end - 8, 4, value) : undefined;
      if (node.valueLengthAt > record + 8) put(bytes, record + 8, 1, value);
    }
  }
}

/** Makes the header CRC and each original record's head and tail CRC match the (damaged) bytes again. */
function repairTwoskipCrcs(bytes: Buffer, records: readonly number[]): void {
  if (bytes.length >= 64) bytes.writeUInt32BE(zlib.crc32(bytes.subarray(0, 60)), 60);
  for (const record of records) {
    const layout = twoskipLayout(bytes, record);
    if (layout === undefined || layout.headEnd + 8 > bytes.length) continue;
    bytes.writeUInt32BE(zlib.crc32(bytes.subarray(record, layout.headEnd)), layout.headEnd);
    if (layout.end <= bytes.length) bytes.writeUInt32BE(zlib.crc32(bytes.subarray(layout.headEnd + 8, layout.end)), layout.headEnd + 4);
  }
}

/**
 * A header that passes the twoskip header checks (magic, version 1, CRC) over `body`, so that
 * random bytes reach the record walk: current_size is a multiple of 8 no larger than the file.
 */
export function twoskipHeaderOver(body: Uint8Array, numRecords: bigint, dirty: boolean): Buffer {
  const bytes = Buffer.concat([Buffer.alloc(64), Buffer.from(body)]);
  Buffer.from('a1028b0d74776f736b69702066696c6500000000', 'hex').copy(bytes, 0);
  bytes.writeUInt32BE(1, 20);
  bytes.writeBigUInt64BE(1n, 24);
  bytes.writeBigUInt64BE(numRecords, 32);
  bytes.writeBigUInt64BE(BigInt(bytes.length), 40);
  bytes.writeBigUInt64BE(BigInt(Math.max(336, bytes.length - (bytes.length % 8))), 48);
  bytes.writeUInt32BE(dirty ? 1 : 0, 56);
  bytes.writeUInt32BE(zlib.crc32(bytes.subarray(0, 60)), 60);
  return bytes;
}
