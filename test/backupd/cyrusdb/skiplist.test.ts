// The skiplist reader on small synthetic files: the log replay, and one damaged file for each
// check that stands in for the checksums skiplist does not have.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CyrusDbError, type CyrusDbErrorCode } from '../../../src/backupd/cyrusdb/errors.js';
import { compareSignedChar, parseSkiplist } from '../../../src/backupd/cyrusdb/skiplist.js';
import { buildSkiplist, DUMMY_FIRST_POINTER, SKIPLIST_TYPES, word, type BuiltSkiplist, type SyntheticSkiplist } from './helpers/skiplist-builder.js';

const FILE = '/var/lib/cyrus/backups.db';
const { INORDER, ADD, DELETE, COMMIT } = SKIPLIST_TYPES;

const text = (bytes: Buffer) => parseSkiplist(bytes, FILE).map(({ key, value }) => [key.toString(), value.toString()]);

function assertFails(bytes: Buffer, code: CyrusDbErrorCode, offset?: number): void {
  assert.throws(
    () => parseSkiplist(bytes, FILE),
    (error) => {
      assert.ok(error instanceof CyrusDbError, String(error));
      assert.equal(error.code, code, error.message);
      assert.equal(error.file, FILE);
      if (offset !== undefined) assert.equal(error.offset, offset, error.message);
      return true;
    },
  );
}

/** A copy of `built` with the 32-bit word at `at` replaced. */
function withWord(built: BuiltSkiplist | Buffer, at: number, value: number): Buffer {
  const bytes = Buffer.from(Buffer.isBuffer(built) ? built : built.bytes);
  bytes.writeUInt32BE(value, at);
  return bytes;
}

const build = (file: SyntheticSkiplist) => buildSkiplist(file);
/** alice, bob, carol checkpointed at levels 1, 2, 1; a log that adds dave, replaces bob, deletes alice. */
const checkpointedAndLogged = () =>
  build({
    inorder: [{ key: 'alice', value: '/a' }, { key: 'bob', value: '/b', level: 2 }, { key: 'carol', value: '/c' }],
    log: [{ set: 'dave', value: '/d', level: 3 }, 'commit', { set: 'bob', value: '/b2' }, { delete: 'alice' }, 'commit'],
  });

describe('parseSkiplist: log replay', () => {
  test('replays committed ADDs and DELETEs over the checkpointed part', () => {
    const built = checkpointedAndLogged();
    assert.deepEqual(text(built.bytes), [['bob', '/b2'], ['carol', '/c'], ['dave', '/d']]);
    assert.deepEqual(
      built.records.map((record) => record.type),
      ['INORDER', 'INORDER', 'INORDER', 'ADD', 'COMMIT', 'DELETE', 'ADD', 'DELETE', 'COMMIT'],
    );
  });

  test('a last transaction without COMMIT is ignored, though its nodes are already linked in', () => {
    const built = build({ log: [{ set: 'alice', value: '/a' }, { set: 'bob', value: '/b' }, 'commit', { set: 'alice', value: '/new' }, { delete: 'bob' }, { set: 'carol', value: '/c' }] });
    assert.deepEqual(text(built.bytes), [['alice', '/a'], ['bob', '/b']]);
    // Cut inside its last node (the DUMMY already points at it), or inside a record type.
    assert.deepEqual(text(built.bytes.subarray(0, built.bytes.length - 3)), [['alice', '/a'], ['bob', '/b']]);
    const cutDelete = Buffer.concat([build({ log: [{ set: 'alice', value: '/a' }, 'commit'] }).bytes, word(DELETE), word(0).subarray(0, 2)]);
    assert.deepEqual(text(cutDelete), [['alice', '/a']]);
    // A COMMIT cut off looks just like that: the transaction is lost, as in Cyrus.
    const uncommitted = build({ log: [{ set: 'alice', value: '/a' }, 'commit', { set: 'bob', value: '/b' }, 'commit'] });
    assert.deepEqual(text(uncommitted.bytes.subarray(0, uncommitted.bytes.length - 1)), [['alice', '/a']]);
  });

  test('zero words between transactions are skipped (Cyrus recovery tolerates them there)', () => {
    const zero = { raw: word(0) };
    const built = build({ log: [zero, { set: 'alice', value: '/a' }, 'commit', zero, zero, { set: 'bob', value: '/b' }, 'commit', zero] });
    assert.deepEqual(text(built.bytes), [['alice', '/a'], ['bob', '/b']]);
  });

  test('listsize may be the count after any committed transaction (Cyrus recovery writes it so)', () => {
    const log = [{ set: 'alice', value: '/a' }, 'commit', { set: 'bob', value: '/b' }, { set: 'carol', value: '/c' }, 'commit', { delete: 'alice' }, 'commit'] as const;
    for (const listSize of [0, 1, 3, 2]) assert.equal(text(build({ log: [...log], listSize }).bytes).length, 2);
  });

  test('pairs come out in signed-char order: bytes >= 0x80 first, then prefix first', () => {
    const built = build({ log: [...['josh', 'josé', 'Ångström', '%SHARED', 'jos'].map((key) => ({ set: key, value: key })), 'commit'] });
    assert.deepEqual(text(built.bytes).map(([key]) => key), ['Ångström', '%SHARED', 'jos', 'josé', 'josh']);
  });

  test('compareSignedChar treats bytes as signed chars', () => {
    assert.ok(compareSignedChar(Buffer.from([0xff]), Buffer.from([0x00])) < 0);
    assert.ok(compareSignedChar(Buffer.from([0x7f]), Buffer.from([0x80])) > 0);
    assert.ok(compareSignedChar(Buffer.from('ab'), Buffer.from('abc')) < 0);
    assert.equal(compareSignedChar(Buffer.from('abc'), Buffer.from('abc')), 0);
  });

  test('a DELETE naming something that is not the start of an earlier node', () => {
    const built = build({ log: [{ set: 'alice', value: '/a' }, 'commit'] });
    const alice = built.records[0]!.offset;
    for (const target of [alice + 4, 48, 0, built.bytes.length]) {
      assertFails(Buffer.concat([built.bytes, word(DELETE), word(target), word(COMMIT)]), 'BAD_RECORD', built.bytes.length);
    }
  });

  test('an empty database has no entries', () => {
    assert.deepEqual(text(build({}).bytes), []);
  });
});

describe('parseSkiplist: header, DUMMY and cut-off files', () => {
  test('header checks: empty, short, magic, version, levels', () => {
    const { bytes } = build({});
    assertFails(Buffer.alloc(0), 'EMPTY_FILE');
    assertFails(bytes.subarray(0, 47), 'TRUNCATED');
    assertFails(Buffer.concat([Buffer.from('X'), bytes.subarray(1)]), 'BAD_MAGIC');
    assertFails(build({ version: 2 }).bytes, 'BAD_VERSION');
    assertFails(build({ maxLevel: 21 }).bytes, 'BAD_HEADER');
    assertFails(build({ maxLevel: 0 }).bytes, 'BAD_HEADER');
    assertFails(build({ currentLevel: 21 }).bytes, 'BAD_HEADER');
  });

  test('DUMMY checks: cut off is TRUNCATED, wrong shape is BAD_RECORD', () => {
    const { bytes } = build({});
    assertFails(bytes.subarray(0, 100), 'TRUNCATED');
    assertFails(withWord(bytes, DUMMY_FIRST_POINTER + 4 * 19, 0xffffffff), 'BAD_RECORD'); // terminator after 19 pointers, not 20
  });

  test('a file shorter than logstart, or cut inside an INORDER node, is TRUNCATED', () => {
    const { bytes } = build({ inorder: [['alice', '/a'], ['bob', '/b']] });
    assertFails(bytes.subarray(0, bytes.length - 1), 'TRUNCATED');
    assertFails(withWord(bytes.subarray(0, bytes.length - 1), 40, 144), 'TRUNCATED'); // so only the node itself can tell it is cut
  });
});

/** One damaged file per check: each was read as data (fewer, more or other users) before the check existed. */
describe('parseSkiplist refuses what no Cyrus writer leaves behind', () => {
  const three = () => build({ inorder: [['alice', '/a'], ['bob', '/b'], ['carol', '/c']], log: [{ set: 'dave', value: '/d' }, 'commit'] });

  test('checkpointed keys out of order, or twice', () => {
    assertFails(build({ inorder: [['bob', '/b'], ['alice', '/a']] }).bytes, 'BAD_ORDER', build({ inorder: [['bob', '/b']] }).bytes.length);
    assertFails(build({ inorder: [['alice', '/a'], ['alice', '/b']] }).bytes, 'BAD_ORDER');
  });

  test('a checkpointed node whose type is no longer INORDER (the nodes after it would be lost)', () => {
    const built = three();
    for (const type of [ADD, 0x77, 0]) assertFails(withWord(built, built.records[1]!.offset, type), 'BAD_RECORD', built.records[1]!.offset);
  });

  test('logstart not where the checkpointed part ends (a log ADD turned INORDER would count as committed)', () => {
    const built = build({ inorder: [['alice', '/a']], log: [{ set: 'bob', value: '/b' }] });
    assertFails(withWord(built, built.records[1]!.offset, INORDER), 'BAD_HEADER', 40);
    assertFails(withWord(three(), 40, three().records[1]!.offset), 'BAD_HEADER', 40);
    const { bytes } = build({ inorder: [['alice', '/a']] });
    assertFails(withWord(Buffer.concat([bytes, Buffer.alloc(2)]), 40, bytes.length + 1), 'BAD_HEADER', 40); // past the nodes, in the last 2 bytes
  });

  test('a node with an empty key, without forward pointers, or without its terminator', () => {
    assertFails(build({ inorder: [['', '/a']] }).bytes, 'BAD_RECORD', 144);
    assertFails(build({ inorder: [{ key: 'alice', value: '/a', level: 0 }] }).bytes, 'BAD_RECORD', 144);
    // maxlevel 4: the lost terminator makes the scan run into the next node, past 4 pointers.
    const built = build({ maxLevel: 4, inorder: [{ key: 'alice', value: '/a', level: 2 }, ['bob', '/b']] });
    assertFails(withWord(built, built.records[0]!.firstPointer! + 8, 0), 'BAD_RECORD', built.records[0]!.offset);
  });

  test('non-zero padding after a key or value (a length made shorter)', () => {
    const built = three();
    const bob = built.records[1]!;
    assertFails(withWord(built, bob.offset + 4, 2), 'BAD_RECORD', bob.offset); // "bob" read as "bo"
    assertFails(withWord(built, bob.valueLengthAt!, 1), 'BAD_RECORD', bob.offset); // "/b" read as "/"
  });

  test('a node level above curlevel', () => {
    assertFails(build({ inorder: [{ key: 'alice', value: '/a', level: 3 }], currentLevel: 2 }).bytes, 'BAD_HEADER', 32);
  });

  test('a log record of unknown type, at the start of a transaction or inside one', () => {
    const atStart = build({ log: [{ set: 'alice', value: '/a' }, 'commit', { raw: word(77) }, { set: 'bob', value: '/b' }, 'commit'] });
    assertFails(atStart.bytes, 'BAD_RECORD', atStart.records[2]!.offset);
    const inside = build({ log: [{ set: 'alice', value: '/a' }, { raw: word(INORDER) }, { set: 'bob', value: '/b' }, 'commit'] });
    assertFails(inside.bytes, 'BAD_RECORD', inside.records[1]!.offset);
  });

  test('a zero word inside a transaction (Cyrus would drop that transaction and all after it)', () => {
    const built = build({ log: [{ set: 'alice', value: '/a' }, { raw: word(0) }, { set: 'bob', value: '/b' }, 'commit'] });
    assertFails(built.bytes, 'BAD_RECORD', built.records[1]!.offset);
    const commitZeroed = build({ log: [{ set: 'alice', value: '/a' }, 'commit', { set: 'bob', value: '/b' }, { raw: word(0) }] });
    assertFails(commitZeroed.bytes, 'BAD_RECORD', commitZeroed.records[3]!.offset);
  });

  test('a last record that runs past the end of a file ending with a COMMIT (a length or terminator damaged)', () => {
    const built = build({ log: [{ set: 'alice', value: '/a' }, 'commit', { set: 'bob', value: '/b' }, 'commit'] });
    const bob = built.nodeOf('bob')!;
    assertFails(withWord(built, bob.valueLengthAt!, 200), 'BAD_RECORD', bob.offset);
    assertFails(withWord(built, bob.firstPointer! + 4, 7), 'BAD_RECORD', bob.offset); // its terminator
  });

  test('a DELETE naming a node that is not live: deleted, or replaced by a newer one', () => {
    const deleted = build({ inorder: [['alice', '/a']], log: [{ delete: 'alice' }, 'commit', { raw: Buffer.concat([word(DELETE), word(144)]) }, 'commit'] });
    assertFails(deleted.bytes, 'BAD_RECORD', deleted.records[3]!.offset);
    // This DELETE names alice's old node while her new one is live: it would delete her.
    const replaced = build({ inorder: [['alice', '/a']], log: [{ set: 'alice', value: '/a2' }, 'commit'] });
    assertFails(Buffer.concat([replaced.bytes, word(DELETE), word(144), word(COMMIT)]), 'BAD_RECORD', replaced.bytes.length);
  });

  test('an ADD for a live key without a DELETE before it (a DELETE lost or pointed elsewhere)', () => {
    const built = build({ inorder: [['alice', '/a'], ['bob', '/b']], log: [{ set: 'alice', value: '/a2' }, 'commit'] });
    const del = built.records[2]!;
    assert.equal(del.type, 'DELETE');
    // The DELETE now names bob: bob would vanish and alice's ADD lands on a live key.
    assertFails(withWord(built, del.offset + 4, built.records[1]!.offset), 'BAD_RECORD', built.records[3]!.offset);
  });

  test('listsize that no checkpoint or recovery could have written', () => {
    const log = [{ set: 'alice', value: '/a' }, 'commit', { set: 'bob', value: '/b' }, 'commit'] as const;
    assertFails(build({ log: [...log], listSize: 3 }).bytes, 'BAD_HEADER', 36);
    assertFails(build({ inorder: [['carol', '/c']], listSize: 0 }).bytes, 'BAD_HEADER', 36);
  });

  test('a pointer to something that is not a node, to a node without that level, or to a smaller key', () => {
    const built = three();
    const [alice, bob] = built.records;
    assertFails(withWord(built, alice!.firstPointer!, bob!.offset + 4), 'BAD_POINTER', alice!.firstPointer);
    assertFails(withWord(built, DUMMY_FIRST_POINTER + 4, bob!.offset), 'BAD_POINTER', DUMMY_FIRST_POINTER + 4); // bob has 1 level
    assertFails(withWord(built, bob!.firstPointer!, alice!.offset), 'BAD_POINTER', bob!.firstPointer); // a cycle
    assertFails(withWord(built, bob!.firstPointer!, built.bytes.length + 8), 'BAD_POINTER', bob!.firstPointer);
  });

  test('a level-0 list that skips a live record, or still reaches a deleted one', () => {
    const built = checkpointedAndLogged();
    const carol = built.nodeOf('carol')!;
    const bob = built.nodeOf('bob')!;
    assertFails(withWord(built, bob.firstPointer!, built.nodeOf('dave')!.offset), 'BAD_POINTER', bob.firstPointer); // skips carol
    assertFails(withWord(built, DUMMY_FIRST_POINTER, built.records[0]!.offset), 'BAD_POINTER', DUMMY_FIRST_POINTER); // alice, deleted
    assertFails(withWord(built, carol.firstPointer!, 0), 'BAD_POINTER', carol.firstPointer); // ends before dave
  });

  test('an upper-level list that misses a record of that level', () => {
    const built = checkpointedAndLogged();
    assertFails(withWord(built, DUMMY_FIRST_POINTER + 4, built.nodeOf('dave')!.offset), 'BAD_POINTER', DUMMY_FIRST_POINTER + 4); // skips bob at level 1
    assertFails(withWord(built, DUMMY_FIRST_POINTER + 4 * 2, 0), 'BAD_POINTER', DUMMY_FIRST_POINTER + 4 * 2); // dave missing at level 2
  });

  test('whole committed transactions cut off the end (their records are still linked in)', () => {
    const built = checkpointedAndLogged();
    const firstCommitEnd = built.records[4]!.offset + 4;
    assertFails(built.bytes.subarray(0, firstCommitEnd), 'BAD_POINTER');
    const onlyDeletes = build({ inorder: [['alice', '/a'], ['bob', '/b']], log: [{ delete: 'alice' }, 'commit'] });
    // alice is back, but the DUMMY still skips her: listsize 2 fits, the lists do not.
    assertFails(onlyDeletes.bytes.subarray(0, onlyDeletes.records[2]!.offset), 'BAD_POINTER', DUMMY_FIRST_POINTER);
  });

  test('a pointer into the unfinished transaction that is not one of its nodes', () => {
    const built = build({ log: [{ set: 'alice', value: '/a' }, 'commit', { set: 'bob', value: '/b' }, { set: 'carol', value: '/c' }] });
    const alice = built.nodeOf('alice')!;
    assertFails(withWord(built, alice.firstPointer!, built.nodeOf('bob')!.offset + 8), 'BAD_POINTER', alice.firstPointer);
  });
});
