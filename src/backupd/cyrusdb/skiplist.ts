import { SKIPLIST_MAGIC } from './detect.js';
import { CyrusDbError, type CyrusDbErrorCode } from './errors.js';
import type { CyrusDbEntry } from './types.js';
import { checkHeaderStart } from './header-start.js';

// Layout facts from the format spec (docs/cyrusdb-formats.md §4). All fields are 32-bit big-endian.
export const SKIPLIST_HEADER_SIZE = 48;
const DUMMY_OFFSET = 48;
const MAX_MAXLEVEL = 20;
const POINTER_TERMINATOR = 0xffffffff;

const TYPE_INORDER = 1;
const TYPE_ADD = 2;
const TYPE_DELETE = 4;
const TYPE_COMMIT = 255;
const TYPE_DUMMY = 257;
const TYPE_PADDING = 0; // stray zero words, tolerated by Cyrus recovery

/**
 * All live pairs of a skiplist file, sorted in Cyrus's signed-char key order.
 * Replays the checkpointed part and the committed log instead of following
 * pointers, because a writer rewrites committed pointers in place.
 * An unfinished last transaction is ignored. Throws CyrusDbError.
 */
export function parseSkiplist(bytes: Buffer, file: string): CyrusDbEntry[] {
  const fail = (code: CyrusDbErrorCode, problem: string, offset?: number) =>
    new CyrusDbError(code, file, problem, { offset, backend: 'skiplist' });

  const { maxLevel, logStart } = readHeader(bytes, fail);
  const nodes = new NodeReader(bytes);

  const dummy = nodes.read(DUMMY_OFFSET);
  if (dummy === undefined) throw fail('TRUNCATED', 'the DUMMY node is cut off', DUMMY_OFFSET);
  if (dummy.type !== TYPE_DUMMY || dummy.key.length !== 0 || dummy.value.length !== 0 || dummy.level !== maxLevel) {
    throw fail('BAD_RECORD', `the DUMMY node is invalid (type ${dummy.type}, level ${dummy.level}, maxlevel ${maxLevel})`, DUMMY_OFFSET);
  }
  if (bytes.length < logStart) {
    throw fail('TRUNCATED', `file has ${bytes.length} bytes but the checkpointed part ends at logstart ${logStart}`);
  }

  // Keys by their latin1 string: a 1:1 byte mapping, so it is a safe Map key.
  const live = new Map<string, CyrusDbEntry>();
  const keyAtOffset = new Map<number, Buffer>();

  let offset = dummy.end;
  while (offset + 4 <= bytes.length && bytes.readUInt32BE(offset) === TYPE_INORDER) {
    const node = nodes.read(offset);
    // The checkpointed part is never appended to, so a cut here is damage, not a writer at work.
    if (node === undefined) throw fail('TRUNCATED', 'a checkpointed (INORDER) node is cut off', offset);
    live.set(node.key.toString('latin1'), { key: node.key, value: node.value });
    keyAtOffset.set(offset, node.key);
    offset = node.end;
  }

  type PendingOperation = { key: Buffer; value: Buffer | undefined };
  let pending: PendingOperation[] = [];
  replay: while (offset + 4 <= bytes.length) {
    const type = bytes.readUInt32BE(offset);
    switch (type) {
      case TYPE_PADDING:
        offset += 4;
        break;
      case TYPE_ADD: {
        const node = nodes.read(offset);
        if (node === undefined) break replay; // a transaction still being written
        keyAtOffset.set(offset, node.key);
        pending.push({ key: node.key, value: node.value });
        offset = node.end;
        break;
      }
      case TYPE_DELETE: {
        if (offset + 8 > bytes.length) break replay;
        const target = bytes.readUInt32BE(offset + 4);
        const key = keyAtOffset.get(target);
        if (key === undefined) throw fail('BAD_RECORD', `DELETE names offset ${target}, which is not the start of a node`, offset);
        pending.push({ key, value: undefined });
        offset += 8;
        break;
      }
      case TYPE_COMMIT:
        for (const operation of pending) {
          const mapKey = operation.key.toString('latin1');
          if (operation.value === undefined) live.delete(mapKey);
          else live.set(mapKey, { key: operation.key, value: operation.value });
        }
        pending = [];
        offset += 4;
        break;
      default:
        // Not a record start: the rest is an unfinished (or crashed) transaction.
        break replay;
    }
  }

  return [...live.values()].sort((a, b) => compareSignedChar(a.key, b.key));
}

/**
 * Cyrus's default skiplist order: bytes compared as C `char`, which is signed on
 * x86-64 (so 0x80-0xFF sort before 0x00-0x7F); a prefix sorts first.
 */
export function compareSignedChar(a: Buffer, b: Buffer): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return (a[i] ^ 0x80) - (b[i] ^ 0x80);
  }
  return a.length - b.length;
}

function readHeader(
  bytes: Buffer,
  fail: (code: CyrusDbErrorCode, problem: string, offset?: number) => CyrusDbError,
): { maxLevel: number; logStart: number } {
  checkHeaderStart(bytes, 'skiplist', SKIPLIST_HEADER_SIZE, SKIPLIST_MAGIC, fail);
  const maxLevel = bytes.readUInt32BE(28);
  const currentLevel = bytes.readUInt32BE(32);
  if (maxLevel < 1 || maxLevel > MAX_MAXLEVEL || currentLevel > maxLevel) {
    throw fail('BAD_HEADER', `impossible levels in header (maxlevel ${maxLevel}, curlevel ${currentLevel}; maxlevel must be 1..${MAX_MAXLEVEL})`, 28);
  }
  return { maxLevel, logStart: bytes.readUInt32BE(40) };
}

interface SkiplistNode {
  type: number;
  key: Buffer;
  value: Buffer;
  /** Number of forward pointers. */
  level: number;
  /** Offset just past the node. */
  end: number;
}

/** Reads DUMMY/INORDER/ADD nodes; `undefined` means the node does not fit in the file. */
class NodeReader {
  constructor(private readonly bytes: Buffer) {}

  read(offset: number): SkiplistNode | undefined {
    const bytes = this.bytes;
    if (offset + 8 > bytes.length) return undefined;
    const type = bytes.readUInt32BE(offset);
    const keyLength = bytes.readUInt32BE(offset + 4);
    const keyStart = offset + 8;
    const valueLengthAt = keyStart + roundUp4(keyLength);
    if (valueLengthAt + 4 > bytes.length) return undefined;
    const valueLength = bytes.readUInt32BE(valueLengthAt);
    const valueStart = valueLengthAt + 4;
    let pointerAt = valueStart + roundUp4(valueLength);
    // The level is not stored: count pointer words up to the terminator.
    let level = 0;
    for (;;) {
      if (pointerAt + 4 > bytes.length) return undefined;
      if (bytes.readUInt32BE(pointerAt) === POINTER_TERMINATOR) break;
      pointerAt += 4;
      level++;
    }
    return {
      type,
      key: bytes.subarray(keyStart, keyStart + keyLength),
      value: bytes.subarray(valueStart, valueStart + valueLength),
      level,
      end: pointerAt + 4,
    };
  }
}

function roundUp4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
