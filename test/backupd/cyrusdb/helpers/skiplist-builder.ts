// Builds synthetic skiplist files laid out as Cyrus's writer leaves them: header, DUMMY, INORDER
// nodes, then a log of transactions, with every pointer linking the keys the log has set so far
// (a writer relinks as it appends, before its COMMIT). Tests then damage single fields of them.
// Written from the format spec (docs/cyrusdb-formats.md §4), independent of the reader.

export const SKIPLIST_TYPES = { INORDER: 1, ADD: 2, DELETE: 4, COMMIT: 255, DUMMY: 257 } as const;
const MAGIC = Buffer.from('a1028b0d736b69706c6973742066696c65000000', 'hex');
const TERMINATOR = 0xffffffff;

type Bytes = string | Buffer;

export type LogItem =
  /** ADD, preceded by a DELETE of the key's node if it is set already (a replace). */
  | { set: Bytes; value?: Bytes; level?: number }
  /** DELETE of the key's node; nothing if it is not set (as Cyrus does). */
  | { delete: Bytes }
  | 'commit'
  /** Bytes placed as they are (stray words, broken records). */
  | { raw: Buffer };

export interface SyntheticSkiplist {
  /** Checkpointed pairs, in the order given (Cyrus writes them in key order). */
  inorder?: ({ key: Bytes; value?: Bytes; level?: number } | [Bytes, Bytes])[];
  log?: LogItem[];
  maxLevel?: number;
  /** Default: the highest node level, at least 1. */
  currentLevel?: number;
  /** Default: the number of INORDER nodes, as a checkpoint writes it. */
  listSize?: number;
  /** Default: the end of the INORDER nodes. */
  logStart?: number;
  version?: number;
}

export interface SkiplistRecord {
  offset: number;
  type: 'INORDER' | 'ADD' | 'DELETE' | 'COMMIT' | 'raw';
  key?: Buffer;
  level?: number;
  /** For INORDER and ADD nodes: where pointer 0 is (pointer i is 4·i further) and where the value length is. */
  firstPointer?: number;
  valueLengthAt?: number;
}

export interface BuiltSkiplist {
  bytes: Buffer;
  /** The DUMMY's pointer 0 is at `DUMMY_FIRST_POINTER`; these are the records after it, in file order. */
  records: SkiplistRecord[];
  /** The node linked for `key` at the end (what the pointers say), or undefined. */
  nodeOf(key: Bytes): SkiplistRecord | undefined;
}

export const DUMMY_OFFSET = 48;
export const DUMMY_FIRST_POINTER = DUMMY_OFFSET + 12;

export const word = (n: number): Buffer => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n);
  return bytes;
};
const padded = (bytes: Buffer) => Buffer.concat([bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);
const toBuffer = (bytes: Bytes | undefined) => (bytes === undefined ? Buffer.alloc(0) : Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));

/** Cyrus's default skiplist key order (signed char), written out again so the builder does not rely on the reader. */
function compareKeys(a: Buffer, b: Buffer): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return ((a[i]! + 128) % 256) - ((b[i]! + 128) % 256);
  }
  return a.length - b.length;
}

/** A node with zero pointers: type, K, key, D, value, `level` pointer words, terminator. */
function nodeBytes(type: number, key: Buffer, value: Buffer, level: number): Buffer {
  return Buffer.concat([word(type), word(key.length), padded(key), word(value.length), padded(value), Buffer.alloc(4 * level), word(TERMINATOR)]);
}

export function buildSkiplist(file: SyntheticSkiplist = {}): BuiltSkiplist {
  const maxLevel = file.maxLevel ?? 20;
  const parts: Buffer[] = [Buffer.alloc(48), nodeBytes(SKIPLIST_TYPES.DUMMY, Buffer.alloc(0), Buffer.alloc(0), maxLevel)];
  let end = 48 + parts[1]!.length;
  const records: SkiplistRecord[] = [];
  const linked = new Map<string, SkiplistRecord>();

  const appendNode = (type: 'INORDER' | 'ADD', key: Buffer, value: Buffer, level: number) => {
    const bytes = nodeBytes(SKIPLIST_TYPES[type], key, value, level);
    const record: SkiplistRecord = {
      offset: end,
      type,
      key,
      level,
      valueLengthAt: end + 8 + padded(key).length,
      firstPointer: end + 12 + padded(key).length + padded(value).length,
    };
    parts.push(bytes);
    records.push(record);
    linked.set(key.toString('hex'), record);
    end += bytes.length;
  };
  const appendOther = (type: 'DELETE' | 'COMMIT' | 'raw', bytes: Buffer) => {
    parts.push(bytes);
    records.push({ offset: end, type });
    end += bytes.length;
  };

  for (const entry of file.inorder ?? []) {
    const { key, value, level } = Array.isArray(entry) ? { key: entry[0], value: entry[1], level: 1 } : entry;
    appendNode('INORDER', toBuffer(key), toBuffer(value), level ?? 1);
  }
  const inorderEnd = end;
  for (const item of file.log ?? []) {
    if (item === 'commit') appendOther('COMMIT', word(SKIPLIST_TYPES.COMMIT));
    else if ('raw' in item) appendOther('raw', item.raw);
    else {
      const key = toBuffer('set' in item ? item.set : item.delete);
      const old = linked.get(key.toString('hex'));
      if (old !== undefined) {
        appendOther('DELETE', Buffer.concat([word(SKIPLIST_TYPES.DELETE), word(old.offset)]));
        linked.delete(key.toString('hex'));
      }
      // A replace keeps the old node's height, as Cyrus does.
      if ('set' in item) appendNode('ADD', key, toBuffer(item.value), item.level ?? old?.level ?? 1);
    }
  }

  const bytes = Buffer.concat(parts);
  // Link every level through the keys set at the end, in key order.
  const chain = [...linked.values()].sort((a, b) => compareKeys(a.key!, b.key!));
  for (let level = 0; level < maxLevel; level++) {
    let pointerAt = DUMMY_FIRST_POINTER + 4 * level;
    for (const node of chain.filter((n) => n.level! > level)) {
      bytes.writeUInt32BE(node.offset, pointerAt);
      pointerAt = node.firstPointer! + 4 * level;
    }
  }

  MAGIC.copy(bytes, 0);
  bytes.writeUInt32BE(file.version ?? 1, 20);
  bytes.writeUInt32BE(2, 24);
  bytes.writeUInt32BE(maxLevel, 28);
  const highest = Math.max(1, ...records.map((record) => record.level ?? 0));
  bytes.writeUInt32BE(file.currentLevel ?? highest, 32);
  bytes.writeUInt32BE(file.listSize ?? (file.inorder ?? []).length, 36);
  bytes.writeUInt32BE(file.logStart ?? inorderEnd, 40);
  bytes.writeUInt32BE(1_700_000_000, 44);
  return { bytes, records, nodeOf: (key) => linked.get(toBuffer(key).toString('hex')) };
}
