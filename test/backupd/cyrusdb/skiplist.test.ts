// Edge cases of the skiplist log replay, on small hand-built files.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CyrusDbError, type CyrusDbErrorCode } from '../../../src/backupd/cyrusdb/errors.js';
import { compareSignedChar, parseSkiplist } from '../../../src/backupd/cyrusdb/skiplist.js';

const FILE = '/var/lib/cyrus/backups.db';
const MAGIC = Buffer.from('a1028b0d736b69706c6973742066696c65000000', 'hex');
const INORDER = 1;
const ADD = 2;
const DELETE = 4;
const COMMIT = 255;
const DUMMY = 257;

const word = (n: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n);
  return bytes;
};
const padded = (bytes: Buffer) => Buffer.concat([bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);

/** A node as the format lays it out: type, K, key, D, value, `level` zero pointers, terminator. */
function node(type: number, key: string | Buffer, value: string, level = 1): Buffer {
  const keyBytes = Buffer.isBuffer(key) ? key : Buffer.from(key);
  const valueBytes = Buffer.from(value);
  return Buffer.concat([
    word(type), word(keyBytes.length), padded(keyBytes), word(valueBytes.length), padded(valueBytes),
    ...Array.from({ length: level }, () => word(0)), word(0xffffffff),
  ]);
}

/** Header + DUMMY (maxlevel 20) + `inorder` nodes + `log` records; logstart follows the INORDER part. */
function skiplist(parts: { inorder?: Buffer[]; log?: Buffer[]; maxLevel?: number; currentLevel?: number; version?: number } = {}): {
  bytes: Buffer;
  logStart: number;
} {
  const maxLevel = parts.maxLevel ?? 20;
  const header = Buffer.alloc(48);
  MAGIC.copy(header);
  header.writeUInt32BE(parts.version ?? 1, 20);
  header.writeUInt32BE(2, 24);
  header.writeUInt32BE(maxLevel, 28);
  header.writeUInt32BE(parts.currentLevel ?? 1, 32);
  const dummy = node(DUMMY, '', '', maxLevel);
  const inorder = Buffer.concat(parts.inorder ?? []);
  const logStart = 48 + dummy.length + inorder.length;
  header.writeUInt32BE(logStart, 40);
  return { bytes: Buffer.concat([header, dummy, inorder, ...(parts.log ?? [])]), logStart };
}

const text = (bytes: Buffer) => parseSkiplist(bytes, FILE).map(({ key, value }) => [key.toString(), value.toString()]);

function assertFails(bytes: Buffer, code: CyrusDbErrorCode): void {
  assert.throws(() => parseSkiplist(bytes, FILE), (error) => error instanceof CyrusDbError && error.code === code && error.file === FILE);
}

describe('parseSkiplist', () => {
  test('replays committed ADDs and DELETEs over the checkpointed part', () => {
    const { bytes, logStart } = skiplist({ inorder: [node(INORDER, 'alice', '/a'), node(INORDER, 'bob', '/b')] });
    const firstNode = 48 + 96;
    const log = Buffer.concat([node(ADD, 'carol', '/c'), word(DELETE), word(firstNode), word(COMMIT)]);
    assert.equal(logStart, firstNode + node(INORDER, 'alice', '/a').length + node(INORDER, 'bob', '/b').length);
    assert.deepEqual(text(Buffer.concat([bytes, log])), [['bob', '/b'], ['carol', '/c']]);
  });

  test('a replace is DELETE(old) + ADD(new) in one transaction', () => {
    const { bytes, logStart } = skiplist({ log: [node(ADD, 'alice', '/old'), word(COMMIT)] });
    const replace = Buffer.concat([word(DELETE), word(logStart), node(ADD, 'alice', '/new'), word(COMMIT)]);
    assert.deepEqual(text(Buffer.concat([bytes, replace])), [['alice', '/new']]);
  });

  test('a last transaction without COMMIT is ignored, complete or cut', () => {
    const { bytes } = skiplist({ log: [node(ADD, 'alice', '/a'), word(COMMIT), node(ADD, 'bob', '/b')] });
    assert.deepEqual(text(bytes), [['alice', '/a']]);
    assert.deepEqual(text(bytes.subarray(0, bytes.length - 3)), [['alice', '/a']]);
    const cutDelete = Buffer.concat([bytes, word(DELETE), word(0).subarray(0, 2)]);
    assert.deepEqual(text(cutDelete), [['alice', '/a']]);
  });

  test('stray zero words in the log are skipped', () => {
    const { bytes } = skiplist({ log: [word(0), node(ADD, 'alice', '/a'), word(0), word(0), word(COMMIT)] });
    assert.deepEqual(text(bytes), [['alice', '/a']]);
  });

  test('an unknown record type ends the replay; what follows is ignored', () => {
    const { bytes } = skiplist({ log: [node(ADD, 'alice', '/a'), word(COMMIT), word(77), node(ADD, 'bob', '/b'), word(COMMIT)] });
    assert.deepEqual(text(bytes), [['alice', '/a']]);
  });

  test('a DELETE naming something that is not a node start is BAD_RECORD', () => {
    const { bytes, logStart } = skiplist({ log: [node(ADD, 'alice', '/a'), word(COMMIT)] });
    assertFails(Buffer.concat([bytes, word(DELETE), word(logStart + 4), word(COMMIT)]), 'BAD_RECORD');
  });

  test('pairs come out in signed-char order: bytes >= 0x80 first, then prefix first', () => {
    const { bytes } = skiplist({
      log: [node(ADD, 'josh', '1'), node(ADD, 'josé', '2'), node(ADD, 'Ångström', '3'), node(ADD, '%SHARED', '4'), node(ADD, 'jos', '5'), word(COMMIT)],
    });
    assert.deepEqual(text(bytes).map(([key]) => key), ['Ångström', '%SHARED', 'jos', 'josé', 'josh']);
  });

  test('compareSignedChar treats bytes as signed chars', () => {
    assert.ok(compareSignedChar(Buffer.from([0xff]), Buffer.from([0x00])) < 0);
    assert.ok(compareSignedChar(Buffer.from([0x7f]), Buffer.from([0x80])) > 0);
    assert.ok(compareSignedChar(Buffer.from('ab'), Buffer.from('abc')) < 0);
    assert.equal(compareSignedChar(Buffer.from('abc'), Buffer.from('abc')), 0);
  });

  test('header checks: empty, short, magic, version, levels', () => {
    const { bytes } = skiplist();
    assertFails(Buffer.alloc(0), 'EMPTY_FILE');
    assertFails(bytes.subarray(0, 47), 'TRUNCATED');
    assertFails(Buffer.concat([Buffer.from('X'), bytes.subarray(1)]), 'BAD_MAGIC');
    assertFails(skiplist({ version: 2 }).bytes, 'BAD_VERSION');
    assertFails(skiplist({ maxLevel: 21 }).bytes, 'BAD_HEADER');
    assertFails(skiplist({ maxLevel: 0 }).bytes, 'BAD_HEADER');
    assertFails(skiplist({ currentLevel: 21 }).bytes, 'BAD_HEADER');
  });

  test('DUMMY checks: cut off is TRUNCATED, wrong shape is BAD_RECORD', () => {
    const { bytes } = skiplist();
    assertFails(bytes.subarray(0, 100), 'TRUNCATED');
    const wrongLevel = Buffer.from(bytes);
    wrongLevel.writeUInt32BE(0xffffffff, 48 + 12 + 4 * 19); // terminator after 19 pointers instead of 20
    assertFails(wrongLevel, 'BAD_RECORD');
  });

  test('a file shorter than logstart, or cut inside an INORDER node, is TRUNCATED', () => {
    const { bytes } = skiplist({ inorder: [node(INORDER, 'alice', '/a'), node(INORDER, 'bob', '/b')] });
    assertFails(bytes.subarray(0, bytes.length - 1), 'TRUNCATED');
    const understatedLogStart = Buffer.from(bytes.subarray(0, bytes.length - 1));
    understatedLogStart.writeUInt32BE(48 + 96, 40); // so only the node itself can tell it is cut
    assertFails(understatedLogStart, 'TRUNCATED');
  });

  test('an empty database has no entries', () => {
    assert.deepEqual(text(skiplist().bytes), []);
  });
});
