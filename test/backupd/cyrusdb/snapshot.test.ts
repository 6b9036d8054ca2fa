// readCyrusDb: detection, retries, giving up, and that it never writes.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CyrusDbError } from '../../../src/backupd/cyrusdb/errors.js';
import { readCyrusDb } from '../../../src/backupd/cyrusdb/snapshot.js';
import { buildSkiplist, DUMMY_FIRST_POINTER } from './helpers/skiplist-builder.js';
import { buildTwoskip, simpleTwoskip } from './helpers/twoskip-builder.js';

describe('readCyrusDb', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cyrusdb-snapshot-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads a twoskip file in one attempt and leaves it untouched', async () => {
    const path = join(dir, 'twoskip.db');
    const { bytes } = buildTwoskip(simpleTwoskip([['alice', '/a'], ['bob', '/b']]));
    await writeFile(path, bytes);
    const statBefore = await stat(path);
    const snapshot = await readCyrusDb(path);
    assert.equal(snapshot.backend, 'twoskip');
    assert.equal(snapshot.attempts, 1);
    assert.deepEqual(snapshot.entries.map(({ key }) => key.toString()), ['alice', 'bob']);
    const statAfter = await stat(path);
    assert.deepEqual(await readFile(path), bytes);
    assert.equal(statAfter.mtimeMs, statBefore.mtimeMs);
    assert.equal(statAfter.ctimeMs, statBefore.ctimeMs);
  });

  test('detects twoskip by magic even when flat is configured', async () => {
    const path = join(dir, 'configured-flat.db');
    await writeFile(path, buildTwoskip(simpleTwoskip([['alice', '/a']])).bytes);
    assert.equal((await readCyrusDb(path, { backend: 'flat' })).backend, 'twoskip');
  });

  test('an empty file is an empty flat database, but EMPTY_FILE for twoskip', async () => {
    const path = join(dir, 'empty.db');
    await writeFile(path, Buffer.alloc(0));
    assert.deepEqual(await readCyrusDb(path, { backend: 'flat' }), { backend: 'flat', entries: [], attempts: 1 });
    await assert.rejects(readCyrusDb(path), (error) => error instanceof CyrusDbError && error.code === 'EMPTY_FILE');
  });

  test('a missing file is UNREADABLE at once, without retries', async () => {
    const path = join(dir, 'missing.db');
    await assert.rejects(readCyrusDb(path), (error) => {
      assert.ok(error instanceof CyrusDbError);
      assert.equal(error.code, 'UNREADABLE');
      assert.equal(error.file, path);
      assert.match(error.message, /ENOENT/);
      // An error given up on after retries carries their count; this one came from the first open.
      assert.equal(error.attempts, undefined);
      return true;
    });
  });

  test('a persistent error is reported after a second identical read, worded as damage', async () => {
    const path = join(dir, 'bad-header.db');
    const { bytes } = buildTwoskip(simpleTwoskip([['alice', '/a']]));
    bytes[63] ^= 1;
    await writeFile(path, bytes);
    await assert.rejects(readCyrusDb(path), (error) => {
      assert.ok(error instanceof CyrusDbError);
      assert.equal(error.code, 'HEADER_CRC');
      assert.equal(error.attempts, 2);
      assert.equal(error.offset, 60);
      assert.match(error.message, /bad-header\.db: header CRC .*byte offset 60; given up after 2 reads.*The file is damaged.*cyr_dbtool.*COPY/);
      return true;
    });
  });

  test('a skiplist pointer error counts only when every read saw one (Cyrus recovery rewrites pointers in place)', async () => {
    const path = join(dir, 'bad-pointer.db');
    const { bytes } = buildSkiplist({ log: [{ set: 'alice', value: '/a' }, 'commit'] });
    bytes.writeUInt32BE(0, DUMMY_FIRST_POINTER); // alice unlinked
    await writeFile(path, bytes);
    await assert.rejects(readCyrusDb(path, { attempts: 3 }), (error) => {
      assert.ok(error instanceof CyrusDbError);
      assert.equal(error.code, 'BAD_POINTER');
      assert.equal(error.attempts, 3);
      assert.equal(error.offset, DUMMY_FIRST_POINTER);
      return true;
    });
  });

  test('with attempts: 1 the first error is final', async () => {
    const path = join(dir, 'bad-header-once.db');
    const { bytes } = buildTwoskip(simpleTwoskip([['alice', '/a']]));
    bytes[63] ^= 1;
    await writeFile(path, bytes);
    await assert.rejects(readCyrusDb(path, { attempts: 1 }), (error) => error instanceof CyrusDbError && error.attempts === 1);
  });
});
