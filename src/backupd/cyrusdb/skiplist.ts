import { SKIPLIST_MAGIC } from './detect.js';
import { CyrusDbError, type CyrusDbErrorCode } from './errors.js';
import type { CyrusDbEntry } from './types.js';
import { checkHeaderStart } from './header-start.js';

// Layout facts from the format spec (docs/cyrusdb-formats.md §4). All fields are 32-bit big-endian.
export const SKIPLIST_HEADER_SIZE = 48;
const DUMMY_OFFSET = 48;
const MAX_MAXLEVEL = 20;
const POINTER_TERMINATOR = 0xffffffff;
const CURLEVEL_OFFSET = 32;
const LISTSIZE_OFFSET = 36;
const LOGSTART_OFFSET = 40;

const TYPE_INORDER = 1;
const TYPE_ADD = 2;
const TYPE_DELETE = 4;
const TYPE_COMMIT = 255;
const TYPE_DUMMY = 257;
const TYPE_PADDING = 0; // stray zero words between transactions, which Cyrus recovery skips

type Fail = (code: CyrusDbErrorCode, problem: string, offset?: number) => CyrusDbError;

/**
 * All live pairs of a skiplist file, sorted in Cyrus's signed-char key order.
 * Replays the checkpointed part and the committed log instead of following
 * pointers, because a writer rewrites committed pointers in place; an unfinished
 * last transaction is ignored. skiplist has no checksums, so everything else the
 * format pins down is checked instead (header fields, record shapes, key order,
 * what each DELETE names, and that the pointers link exactly the replayed
 * records), and a file failing any of it is refused rather than read partly.
 * Throws CyrusDbError.
 */
export function parseSkiplist(bytes: Buffer, file: string): CyrusDbEntry[] {
  const fail: Fail = (code, problem, offset) => new CyrusDbError(code, file, problem, { offset, backend: 'skiplist' });

  const header = readHeader(bytes, fail);
  const reader = new NodeReader(bytes, header, fail);

  const dummy = reader.read(DUMMY_OFFSET);
  if (dummy === undefined) throw fail('TRUNCATED', 'the DUMMY node is cut off', DUMMY_OFFSET);
  if (dummy.type !== TYPE_DUMMY || dummy.key.length !== 0 || dummy.value.length !== 0 || dummy.level !== header.maxLevel) {
    throw fail('BAD_RECORD', `the DUMMY node is invalid (type ${dummy.type}, level ${dummy.level}, maxlevel ${header.maxLevel})`, DUMMY_OFFSET);
  }
  if (bytes.length < header.logStart) {
    throw fail('TRUNCATED', `file has ${bytes.length} bytes but the checkpointed part ends at logstart ${header.logStart}`);
  }

  // Every INORDER and complete ADD node by offset (what pointers and DELETEs may name), and the
  // committed live node of each key.
  const nodes = new Map<number, SkiplistNode>();
  const live = new Map<string, SkiplistNode>();

  let offset = dummy.end;
  let previous: SkiplistNode | undefined;
  while (offset + 4 <= bytes.length && bytes.readUInt32BE(offset) === TYPE_INORDER) {
    const node = reader.read(offset);
    // The checkpointed part is never appended to, so a cut here is damage, not a writer at work.
    if (node === undefined) throw fail('TRUNCATED', 'a checkpointed (INORDER) node is cut off', offset);
    if (previous !== undefined && compareSignedChar(previous.key, node.key) >= 0) {
      throw fail('BAD_ORDER', `the key of the INORDER node at ${offset} is not greater than that of the one before it (${previous.offset})`, offset);
    }
    nodes.set(offset, node);
    live.set(node.name, node);
    previous = node;
    offset = node.end;
  }
  // Cyrus writes logstart only as the end of the INORDER nodes. A mismatch, which its recovery
  // silently adopts, means a changed record type: INORDER nodes would be replayed as log records
  // (and lost), or a log ADD would count as checkpointed (and committed).
  if (offset < header.logStart && offset + 4 <= bytes.length) {
    throw fail('BAD_RECORD', `record at ${offset} has type ${bytes.readUInt32BE(offset)}, but up to logstart ${header.logStart} only INORDER nodes belong`, offset);
  }
  if (offset !== header.logStart) {
    throw fail('BAD_HEADER', `logstart is ${header.logStart}, but the checkpointed (INORDER) nodes end at ${offset}`, LOGSTART_OFFSET);
  }

  // The operations of the transaction being read: key → its new node, or null when deleted.
  const pending = new Map<string, SkiplistNode | null>();
  let transactionStart: number | undefined;
  let cutNode: number | undefined;
  const current = (key: string) => (pending.has(key) ? pending.get(key) : live.get(key));
  // Cyrus writes listsize only on a checkpoint or a recovery: the record count at one of these points.
  const committedCounts = new Set([live.size]);

  replay: while (offset + 4 <= bytes.length) {
    const type = bytes.readUInt32BE(offset);
    switch (type) {
      case TYPE_PADDING:
        // Cyrus would end a crashed transaction here and drop it with all that follows; no writer leaves this.
        if (transactionStart !== undefined) throw fail('BAD_RECORD', `zero word inside the transaction begun at ${transactionStart}`, offset);
        offset += 4;
        break;
      case TYPE_ADD: {
        const node = reader.read(offset);
        if (node === undefined) {
          // A writer cut off mid-record leaves no COMMIT after it: then a length or terminator is damaged.
          if (bytes.length % 4 === 0 && bytes.readUInt32BE(bytes.length - 4) === TYPE_COMMIT) {
            throw fail('BAD_RECORD', `ADD at ${offset} runs past the end of the file, which ends with a COMMIT`, offset);
          }
          cutNode = offset; // a transaction still being written, or a crashed one
          break replay;
        }
        const existing = current(node.name);
        // A writer replaces a key with DELETE + ADD; an ADD over a live key means a lost or altered DELETE.
        if (existing) throw fail('BAD_RECORD', `ADD at ${offset} is for a key that is live at ${existing.offset}, without a DELETE of it`, offset);
        nodes.set(offset, node);
        pending.set(node.name, node);
        transactionStart ??= offset;
        offset = node.end;
        break;
      }
      case TYPE_DELETE: {
        if (offset + 8 > bytes.length) break replay;
        const target = bytes.readUInt32BE(offset + 4);
        const node = nodes.get(target);
        if (node === undefined) throw fail('BAD_RECORD', `DELETE names offset ${target}, which is not the start of an earlier INORDER or ADD node`, offset);
        // A writer names the node it found for the key, so anything else is damage (and would delete another user).
        if (current(node.name) !== node) throw fail('BAD_RECORD', `DELETE names the node at ${target}, which is not live at this point`, offset);
        pending.set(node.name, null);
        transactionStart ??= offset;
        offset += 8;
        break;
      }
      case TYPE_COMMIT:
        for (const [key, node] of pending) {
          if (node === null) live.delete(key);
          else live.set(key, node);
        }
        pending.clear();
        transactionStart = undefined;
        committedCounts.add(live.size);
        offset += 4;
        break;
      default:
        // Cyrus recovery refuses this at the start of a transaction and drops everything from the
        // enclosing transaction on inside one; no writer leaves it, so it is damage either way.
        throw fail('BAD_RECORD', `record type ${type} in the log (expected ADD, DELETE or COMMIT)`, offset);
    }
  }

  const ordered = [...live.values()].sort((a, b) => compareSignedChar(a.key, b.key));
  // A writer may already have relinked the unfinished transaction's keys, so their links may go either way.
  checkPointers({ dummy, nodes, ordered, unfinishedKeys: new Set(pending.keys()), cutNode }, fail);
  if (!committedCounts.has(header.listSize)) {
    throw fail(
      'BAD_HEADER',
      `listsize ${header.listSize} is neither the number of checkpointed records nor the number of live records after any committed transaction`,
      LISTSIZE_OFFSET,
    );
  }

  return ordered.map(({ key, value }) => ({ key, value }));
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

interface SkiplistHeader {
  maxLevel: number;
  currentLevel: number;
  listSize: number;
  logStart: number;
}

function readHeader(bytes: Buffer, fail: Fail): SkiplistHeader {
  checkHeaderStart(bytes, 'skiplist', SKIPLIST_HEADER_SIZE, SKIPLIST_MAGIC, fail);
  const maxLevel = bytes.readUInt32BE(28);
  const currentLevel = bytes.readUInt32BE(CURLEVEL_OFFSET);
  if (maxLevel < 1 || maxLevel > MAX_MAXLEVEL || currentLevel > maxLevel) {
    throw fail('BAD_HEADER', `impossible levels in header (maxlevel ${maxLevel}, curlevel ${currentLevel}; maxlevel must be 1..${MAX_MAXLEVEL})`, 28);
  }
  return { maxLevel, currentLevel, listSize: bytes.readUInt32BE(LISTSIZE_OFFSET), logStart: bytes.readUInt32BE(LOGSTART_OFFSET) };
}

interface LinkedNodes {
  dummy: SkiplistNode;
  /** Every INORDER and complete ADD node, by offset. */
  nodes: ReadonlyMap<number, SkiplistNode>;
  /** The committed live nodes in key order. */
  ordered: readonly SkiplistNode[];
  unfinishedKeys: ReadonlySet<string>;
  /** Offset of the ADD node cut off by the end of the file, if any. */
  cutNode: number | undefined;
}

/**
 * Every pointer of every node leads to 0 or to a node in that level's list with a greater key
 * (which also rules out cycles), and each level's list, followed from the DUMMY, holds exactly
 * the live records of that level in key order: what Cyrus follows when it does not recover
 * the file first. Keys of the unfinished transaction are left out of the comparison, and a
 * list that reaches the cut-off node cannot be followed further.
 */
function checkPointers({ dummy, nodes, ordered, unfinishedKeys, cutNode }: LinkedNodes, fail: Fail): void {
  for (const node of [dummy, ...nodes.values()]) {
    for (let level = 0; level < node.level; level++) {
      const target = node.pointer(level);
      if (target === 0 || target === cutNode) continue;
      const next = nodes.get(target);
      if (next === undefined) {
        throw fail('BAD_POINTER', `level-${level} pointer of the node at ${node.offset} is ${target}, which is not the start of an INORDER or ADD node`, node.pointerOffset(level));
      }
      if (next.level <= level) {
        throw fail('BAD_POINTER', `level-${level} pointer of the node at ${node.offset} leads to the node at ${target}, which has only ${next.level} levels`, node.pointerOffset(level));
      }
      if (node !== dummy && compareSignedChar(next.key, node.key) <= 0) {
        throw fail('BAD_POINTER', `level-${level} pointer of the node at ${node.offset} leads to the node at ${target}, whose key is not greater`, node.pointerOffset(level));
      }
    }
  }

  const expected = ordered.filter((node) => !unfinishedKeys.has(node.name));
  for (let level = 0; level < dummy.level; level++) {
    const wanted = expected.filter((node) => node.level > level);
    let index = 0;
    let holder = dummy;
    let target = dummy.pointer(level);
    for (; target !== 0 && target !== cutNode; target = holder.pointer(level)) {
      const next = nodes.get(target)!;
      if (!unfinishedKeys.has(next.name)) {
        if (next !== wanted[index]) {
          const instead = wanted[index] === undefined ? 'the live records end before it' : `the live record at ${wanted[index]!.offset} comes next`;
          throw fail('BAD_POINTER', `level-${level} list leads from the node at ${holder.offset} to the node at ${target}, but ${instead}`, holder.pointerOffset(level));
        }
        index++;
      }
      holder = next;
    }
    if (target === 0 && index < wanted.length) {
      throw fail('BAD_POINTER', `level-${level} list ends at the node at ${holder.offset}, before the live record at ${wanted[index]!.offset}`, holder.pointerOffset(level));
    }
  }
}

class SkiplistNode {
  constructor(
    private readonly bytes: Buffer,
    readonly offset: number,
    readonly type: number,
    readonly key: Buffer,
    readonly value: Buffer,
    /** The key as a latin1 string: a 1:1 byte mapping, so a safe Map key. */
    readonly name: string,
    /** Number of forward pointers. */
    readonly level: number,
    private readonly pointersStart: number,
  ) {}

  /** Offset just past the node. */
  get end(): number {
    return this.pointerOffset(this.level) + 4;
  }

  pointerOffset(level: number): number {
    return this.pointersStart + 4 * level;
  }

  pointer(level: number): number {
    return this.bytes.readUInt32BE(this.pointerOffset(level));
  }
}

/**
 * Reads DUMMY/INORDER/ADD nodes; `undefined` means the node does not fit in the file
 * (cut off). A node that fits but that no writer could have written throws.
 */
class NodeReader {
  constructor(
    private readonly bytes: Buffer,
    private readonly header: SkiplistHeader,
    private readonly fail: Fail,
  ) {}

  read(offset: number): SkiplistNode | undefined {
    const { bytes, fail } = this;
    if (offset + 8 > bytes.length) return undefined;
    const type = bytes.readUInt32BE(offset);
    const keyLength = bytes.readUInt32BE(offset + 4);
    const keyStart = offset + 8;
    const valueLengthAt = keyStart + roundUp4(keyLength);
    if (valueLengthAt + 4 > bytes.length) return undefined;
    const valueLength = bytes.readUInt32BE(valueLengthAt);
    const valueStart = valueLengthAt + 4;
    const pointersStart = valueStart + roundUp4(valueLength);
    // The level is not stored: count pointer words up to the terminator. More than maxlevel of
    // them is not a node cut short by a writer but a wrong length or a lost terminator.
    let level = 0;
    for (;;) {
      const at = pointersStart + 4 * level;
      if (at + 4 > bytes.length) return undefined;
      if (bytes.readUInt32BE(at) === POINTER_TERMINATOR) break;
      if (++level > this.header.maxLevel) {
        throw fail('BAD_RECORD', `node at ${offset} has more than maxlevel ${this.header.maxLevel} forward pointers (no terminator where one belongs)`, offset);
      }
    }
    if (type !== TYPE_DUMMY) {
      // Cyrus stores only non-empty keys, links every node into level 0, and pads with zeros.
      if (keyLength === 0) throw fail('BAD_RECORD', `node at ${offset} has an empty key`, offset);
      if (level === 0) throw fail('BAD_RECORD', `node at ${offset} has no forward pointers`, offset);
      if (level > this.header.currentLevel) {
        throw fail('BAD_HEADER', `curlevel ${this.header.currentLevel} is below the ${level} levels of the node at ${offset}`, CURLEVEL_OFFSET);
      }
    }
    if (!allZero(bytes.subarray(keyStart + keyLength, valueLengthAt)) || !allZero(bytes.subarray(valueStart + valueLength, pointersStart))) {
      throw fail('BAD_RECORD', `node at ${offset} has non-zero padding after its key or value (a wrong length?)`, offset);
    }
    const key = bytes.subarray(keyStart, keyStart + keyLength);
    return new SkiplistNode(bytes, offset, type, key, bytes.subarray(valueStart, valueStart + valueLength), key.toString('latin1'), level, pointersStart);
  }
}

function allZero(bytes: Buffer): boolean {
  return bytes.every((byte) => byte === 0);
}

function roundUp4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
