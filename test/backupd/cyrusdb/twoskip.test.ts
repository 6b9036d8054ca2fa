// Edge cases of the twoskip reader that Cyrus never writes, on synthetic files.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CyrusDbError, type CyrusDbErrorCode } from '../../../src/backupd/cyrusdb/errors.js';
import { readCyrusDb } from '../../../src/backupd/cyrusdb/snapshot.js';
import { parseTwoskip } from '../../../src/backupd/cyrusdb/twoskip.js';
import { buildTwoskip, simpleTwoskip, type Slot, type SyntheticRecord } from './helpers/twoskip-builder.js';

const FILE = '/var/lib/cyrus/backups.db';
const text = (entries: { key: Buffer; value: Buffer }[]) => entries.map(({ key, value }) => [key.toString(), value.toString()]);

function assertFails(bytes: Buffer, code: CyrusDbErrorCode, offset?: number): CyrusDbError {
  let caught: unknown;
  assert.throws(
    () => parseTwoskip(bytes, FILE),
    (error) => {
      caught = error;
      return error instanceof CyrusDbError && error.code === code;
    },
  );
  const error = caught as CyrusDbError;
  if (offset !== undefined) assert.equal(error.offset, offset);
  assert.equal(error.file, FILE);
  assert.match(error.message, new RegExp(`^${FILE}: .*\\[${code}\\]`));
  return error;
}

const dummy = (next: Slot): SyntheticRecord => ({ type: '=', level: 31, slots: [0, next] });
const add = (key: string, value: string, next: Slot = 0, level = 1): SyntheticRecord => ({
  type: '+',
  level,
  key: Buffer.from(key),
  value: Buffer.from(value),
  slots: [0, next],
});
const commit: SyntheticRecord = { type: '$', level: 0, slots: [336] };

describe('parseTwoskip on synthetic files', () => {
  test('reads a simple chain in order', () => {
    const { bytes } = buildTwoskip(simpleTwoskip([['alice', '/a'], ['bob', '/b'], ['carol', '']]));
    assert.deepEqual(text(parseTwoskip(bytes, FILE)), [['alice', '/a'], ['bob', '/b'], ['carol', '']]);
  });

  test('an empty database (DUMMY only) has no entries', () => {
    const { bytes } = buildTwoskip({ records: [dummy(0)] });
    assert.equal(bytes.length, 336);
    assert.deepEqual(parseTwoskip(bytes, FILE), []);
  });

  test('keys and values are views into the snapshot, not copies', () => {
    const { bytes } = buildTwoskip(simpleTwoskip([['alice', '/a']]));
    const [entry] = parseTwoskip(bytes, FILE);
    assert.equal(entry.key.buffer, bytes.buffer);
    assert.equal(entry.value.buffer, bytes.buffer);
  });

  test('of two committed level-0 slots the larger (newer) one wins', () => {
    // DUMMY s[0] -> old alice, s[1] -> new alice: a replace relinked the DUMMY.
    const { bytes } = buildTwoskip({
      records: [{ type: '=', level: 31, slots: [{ to: 1 }, { to: 2 }] }, add('alice', '/old'), add('alice', '/new'), commit],
      numRecords: 1,
    });
    assert.deepEqual(text(parseTwoskip(bytes, FILE)), [['alice', '/new']]);
  });

  test('a level-0 slot at or past current_size (uncommitted relink) is ignored', () => {
    const { bytes } = buildTwoskip({
      records: [{ type: '=', level: 31, slots: [{ to: 1 }, { to: 3 }] }, add('alice', '/committed'), commit, add('alice', '/uncommitted')],
      currentSize: (offsets) => offsets[3],
      dirty: true,
    });
    assert.deepEqual(text(parseTwoskip(bytes, FILE)), [['alice', '/committed']]);
  });

  test('both level-0 slots at or past current_size: BAD_RECORD at that record', () => {
    const { bytes, offsets } = buildTwoskip({
      records: [{ type: '=', level: 31, slots: [{ to: 3 }, { to: 4 }] }, add('alice', '/a'), commit, add('bob', '/b'), add('carol', '/c')],
      currentSize: (offsets) => offsets[3],
      dirty: true,
    });
    assertFails(bytes, 'BAD_RECORD', offsets[0]);
  });

  test('both level-0 slots past current_size is retried by readCyrusDb, then reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'twoskip-'));
    try {
      const { bytes } = buildTwoskip({
        records: [{ type: '=', level: 31, slots: [{ to: 2 }, { to: 3 }] }, commit, add('alice', '/a'), add('bob', '/b')],
        currentSize: (offsets) => offsets[2],
        dirty: true,
      });
      const path = join(dir, 'backups.db');
      await writeFile(path, bytes);
      await assert.rejects(readCyrusDb(path), (error) => {
        assert.ok(error instanceof CyrusDbError);
        assert.equal(error.code, 'BAD_RECORD');
        assert.equal(error.attempts, 2, 'read again, and given up when the second read failed the same way');
        assert.match(error.message, /given up after 2 reads/);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  test('a DELETE on the chain is hopped over', () => {
    const { bytes } = buildTwoskip({
      records: [dummy({ to: 1 }), add('alice', '/a', { to: 3 }), add('bob', '/b', { to: 4 }), { type: '-', level: 0, slots: [{ to: 4 }] }, add('carol', '/c'), commit],
      numRecords: 2,
    });
    assert.deepEqual(text(parseTwoskip(bytes, FILE)), [['alice', '/a'], ['carol', '/c']]);
  });

  test('a DELETE of the last record ends the chain', () => {
    const { bytes } = buildTwoskip({
      records: [dummy({ to: 1 }), add('alice', '/a', { to: 3 }), add('bob', '/b'), { type: '-', level: 0, slots: [0] }, commit],
      numRecords: 1,
    });
    assert.deepEqual(text(parseTwoskip(bytes, FILE)), [['alice', '/a']]);
  });

  test('DELETE -> DELETE is BAD_RECORD', () => {
    const { bytes, offsets } = buildTwoskip({
      records: [dummy({ to: 1 }), { type: '-', level: 0, slots: [{ to: 2 }] }, { type: '-', level: 0, slots: [{ to: 3 }] }, add('bob', '/b'), commit],
    });
    assertFails(bytes, 'BAD_RECORD', offsets[2]);
  });

  test('both length escapes on short keys and values are accepted', () => {
    const { bytes } = buildTwoskip({
      records: [dummy({ to: 1 }), { ...add('alice', '/a'), escapedKeyLength: true, escapedValueLength: true }, commit],
    });
    assert.deepEqual(text(parseTwoskip(bytes, FILE)), [['alice', '/a']]);
  });

  for (const [what, length] of [
    ['larger than the file', 1_000_000n],
    ['beyond 2^53', 2n ** 60n],
    ['2^64 - 1', 2n ** 64n - 1n],
  ] as const) {
    test(`an escaped key length ${what} is BAD_RECORD, without allocating it`, () => {
      const { bytes, offsets } = buildTwoskip({ records: [dummy({ to: 1 }), { ...add('alice', '/a'), escapedKeyLength: length }, commit] });
      assertFails(bytes, 'BAD_RECORD', offsets[1]);
    });
    test(`an escaped value length ${what} is BAD_RECORD, without allocating it`, () => {
      const { bytes, offsets } = buildTwoskip({ records: [dummy({ to: 1 }), { ...add('alice', '/a'), escapedValueLength: length }, commit] });
      assertFails(bytes, 'BAD_RECORD', offsets[1]);
    });
  }

  test('a record running past current_size is BAD_RECORD', () => {
    const { bytes, offsets } = buildTwoskip({
      records: [dummy({ to: 1 }), add('alice', '/a'.repeat(20)), commit],
      currentSize: (offsets) => offsets[1] + 40,
      dirty: true,
    });
    assertFails(bytes, 'BAD_RECORD', offsets[1]);
  });

  for (const [what, target] of [
    ['unaligned', 340],
    ['into the header', 8],
    ['past the end', 1n << 40n],
  ] as const) {
    // A DELETE's s[0] is followed without the current_size choice, so it reaches load().
    test(`a pointer ${what} is BAD_RECORD`, () => {
      const { bytes } = buildTwoskip({ records: [dummy({ to: 1 }), { type: '-', level: 0, slots: [target] }, add('alice', '/a'), commit], numRecords: 0 });
      assertFails(bytes, 'BAD_RECORD', Number(target));
    });
  }

  test('a chain reaching a COMMIT record is BAD_RECORD', () => {
    const { bytes, offsets } = buildTwoskip({ records: [dummy({ to: 2 }), add('alice', '/a'), commit] });
    assertFails(bytes, 'BAD_RECORD', offsets[2]);
  });

  test('a chain reaching a BLANK filler is BAD_RECORD', () => {
    const { bytes, offsets } = buildTwoskip({ records: [dummy({ to: 2 }), add('alice', '/a'), commit, commit] });
    Buffer.from(' BLANK\x07\xa0', 'latin1').copy(bytes, offsets[2]);
    assertFails(bytes, 'BAD_RECORD', offsets[2]);
  });

  test('a RECORD of level 0 (no second level-0 slot) is BAD_RECORD', () => {
    const { bytes, offsets } = buildTwoskip({ records: [dummy({ to: 1 }), { ...add('alice', '/a'), level: 0, slots: [0] }, commit] });
    assertFails(bytes, 'BAD_RECORD', offsets[1]);
  });

  test('an empty key is BAD_RECORD', () => {
    const { bytes, offsets } = buildTwoskip({ records: [dummy({ to: 1 }), add('', '/a'), commit] });
    assertFails(bytes, 'BAD_RECORD', offsets[1]);
  });

  test('a list head that is not a DUMMY is BAD_RECORD', () => {
    const { bytes } = buildTwoskip({ records: [{ ...add('alice', '/a'), level: 31 }, commit] });
    assertFails(bytes, 'BAD_RECORD', 64);
  });

  test('a cycle back to an earlier record is BAD_ORDER', () => {
    const { bytes, offsets } = buildTwoskip({ records: [dummy({ to: 1 }), add('alice', '/a', { to: 2 }), add('bob', '/b', { to: 1 }), commit] });
    assertFails(bytes, 'BAD_ORDER', offsets[1]);
  });

  test('keys out of raw byte order are BAD_ORDER', () => {
    const { bytes, offsets } = buildTwoskip({ records: [dummy({ to: 1 }), add('josé', '/a', { to: 2 }), add('josh', '/b'), commit] });
    assertFails(bytes, 'BAD_ORDER', offsets[2]);
  });

  test('num_records is checked only when the file is clean', () => {
    const pairs = [['alice', '/a'], ['bob', '/b']] as const;
    assertFails(buildTwoskip({ ...simpleTwoskip(pairs), numRecords: 3 }).bytes, 'COUNT_MISMATCH');
    assert.equal(parseTwoskip(buildTwoskip({ ...simpleTwoskip(pairs), numRecords: 3, dirty: true }).bytes, FILE).length, 2);
  });

  test('a current_size that is not a multiple of 8 is BAD_HEADER', () => {
    assertFails(buildTwoskip({ ...simpleTwoskip([['alice', '/a']]), currentSize: 341 }).bytes, 'BAD_HEADER', 48);
  });

  test('a head CRC mismatch names the record; a tail CRC mismatch too', () => {
    const built = buildTwoskip(simpleTwoskip([['alice', '/a'], ['bob', '/b']]));
    const head = Buffer.from(built.bytes);
    head[built.offsets[2] + 16] ^= 1; // a pointer slot of bob
    assertFails(head, 'RECORD_HEAD_CRC', built.offsets[2]);
    const tail = Buffer.from(built.bytes);
    tail[built.offsets[2] + 33] ^= 1; // inside bob's key (after type/lengths, 2 slots, 2 CRCs)
    assertFails(tail, 'RECORD_TAIL_CRC', built.offsets[2]);
  });

  test('a corrupt stale record off the chain is not looked at', () => {
    const built = buildTwoskip({
      records: [{ type: '=', level: 31, slots: [{ to: 1 }, { to: 2 }] }, add('alice', '/old'), add('alice', '/new'), commit],
      numRecords: 1,
    });
    built.bytes[built.offsets[1] + 8] ^= 0xff; // damage the unreachable old alice's head
    assert.deepEqual(text(parseTwoskip(built.bytes, FILE)), [['alice', '/new']]);
  });
});
