// The SQLite fallback never creates or writes a file beside an index, and says what a file in an odd
// state is: in WAL mode, with a hot journal.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BackupIndexError } from '../../src/backupd/index-error.js';
import { readBackupIndex } from '../../src/backupd/backup-summary.js';
import { writeSyntheticBackup } from '../support/synthetic-backup.js';

const root = mkdtempSync(join(tmpdir(), 'xbs-beside-'));
after(() => rmSync(root, { recursive: true, force: true }));
const T = 1_795_000_000;
let n = 0;

/** A backup alone in a folder of its own, so that anything created beside it shows. */
function backup(): { dir: string; data: string } {
  const dir = join(root, `b${n++}`);
  const data = join(dir, 'anne_X');
  writeSyntheticBackup(data, { chunkEnds: [T - 10, T] });
  return { dir, data };
}

describe('the SQLite fallback writes nothing beside an index', () => {
  test('an index in WAL mode (no -wal file) is read, exactly, and no -wal or -shm appears', () => {
    const { dir, data } = backup();
    const db = new Database(`${data}.index`);
    db.pragma('journal_mode = WAL');
    db.close();
    const before = readFileSync(`${data}.index`);
    assert.deepEqual(readdirSync(dir).sort(), ['anne_X', 'anne_X.index']);
    for (const detail of [false, true]) {
      const summary = detail ? readBackupIndex(data, { detail: true }) : readBackupIndex(data);
      assert.equal(summary.lastBackup, T * 1000);
      assert.equal(summary.newestChunkId, 2);
    }
    assert.deepEqual(readdirSync(dir).sort(), ['anne_X', 'anne_X.index'], 'nothing created beside it');
    assert.deepEqual(readFileSync(`${data}.index`), before, 'and the index itself untouched');
  });

  test('an index in WAL mode with changes in its -wal file: unreadable for now, saying why, nothing written', () => {
    const { dir, data } = backup();
    const writer = new Database(`${data}.index`);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.prepare('INSERT INTO chunk (ts_start, ts_end, offset, length) VALUES (?, ?, 40, 0)').run(T + 5, T + 5);
    // Copies of the three files as a writer left them, without the writer's lock or its checkpoint on close.
    const frozen = join(root, `frozen${n++}`);
    mkdirSync(frozen);
    for (const f of readdirSync(dir)) copyFileSync(join(dir, f), join(frozen, f));
    writer.close();
    rmSync(join(frozen, 'anne_X.index-shm'), { force: true });
    const files = readdirSync(frozen).sort();
    assert.throws(
      () => readBackupIndex(join(frozen, 'anne_X')),
      (err: unknown) => err instanceof BackupIndexError && err.problem === 'locked' && /in WAL mode, which Cyrus never uses, with changes in its -wal file/.test(err.message),
    );
    assert.deepEqual(readdirSync(frozen).sort(), files, 'nothing created beside it');
  });

  test('a hot journal left by a writer that stopped: being recovered, read again later, not corrupt', () => {
    const { data } = backup();
    // A -journal whose header SQLite takes as hot (a writer's rollback journal that was never finished).
    const journal = Buffer.alloc(512);
    Buffer.from([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]).copy(journal, 0);
    journal.writeUInt32BE(1, 8);
    journal.writeUInt32BE(512, 20);
    journal.writeUInt32BE(4096, 24);
    writeFileSync(`${data}.index-journal`, journal);
    try {
      readBackupIndex(data, { detail: true });
      assert.fail('read an index with a hot journal');
    } catch (err) {
      assert.ok(err instanceof BackupIndexError, String(err));
      assert.equal(err.problem, 'locked', err.message);
      assert.match(err.message, /is being recovered: a writer stopped in the middle of a transaction/);
    }
  });
});
