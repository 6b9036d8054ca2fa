import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BackupIndexError } from '../../src/backupd/index-error.js';
import { readBackupIndex } from '../../src/backupd/index-reader.js';
import { BackupServerScanner } from '../../src/backupd/scan.js';
import { MemoryScanCache } from '../../src/backupd/scan-cache.js';
import { MIGRATIONS } from '../../src/scheduler/state/migrations.js';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { SqliteScanCache } from '../../src/scheduler/state/scan-cache-store.js';
import { writeFlatBackupsDb, writeSyntheticBackup } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-scan-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T = 1_795_000_000;

function dropTable(dataFile: string, table: string): void {
  const db = new Database(`${dataFile}.index`);
  db.exec(`DROP TABLE ${table}`);
  db.close();
}

describe('index reader', () => {
  test('last backup is the newest chunk by id, as ctl_backups list shows it, not the latest end; the chunk count and the data file size come along', () => {
    const data = join(dir, 'r/a/anne_X');
    writeSyntheticBackup(data, { chunkEnds: [T - 100, T, T - 50], messages: 7, mailboxes: 2, dataBytes: 1234 });
    assert.deepEqual(readBackupIndex(data), { lastBackup: (T - 50) * 1000, newestChunkId: 3, chunks: 3, dataBytes: 1234 });
  });

  test('message and mailbox counts only when asked for', () => {
    const data = join(dir, 'r/a/anna_X');
    writeSyntheticBackup(data, { chunkEnds: [T], messages: 7, mailboxes: 2, dataBytes: 1234 });
    assert.deepEqual(readBackupIndex(data, { detail: true }), { lastBackup: T * 1000, newestChunkId: 1, chunks: 1, messages: 7, mailboxes: 2, dataBytes: 1234 });
  });

  test('the scan reads the chunk table alone; the detail needs the others', () => {
    const data = join(dir, 'r/a/alma_X');
    writeSyntheticBackup(data, { chunkEnds: [T] });
    dropTable(data, 'message');
    assert.equal(readBackupIndex(data).chunks, 1);
    assert.throws(() => readBackupIndex(data, { detail: true }), (err: unknown) => err instanceof BackupIndexError && err.problem === 'schema');
  });

  test('a backup with no chunk has no last backup', () => {
    const data = join(dir, 'r/b/bob_X');
    writeSyntheticBackup(data, { chunkEnds: [] });
    assert.equal(readBackupIndex(data).lastBackup, null);
  });

  const broken: Array<[string, (data: string) => void, RegExp, string]> = [
    ['a missing index', () => {}, /ctl_backups reindex/, 'missing'],
    ['garbage', (d) => writeFileSync(`${d}.index`, Buffer.alloc(4096, 0x41)), /not a database/, 'corrupt'],
    ['an older schema', (d) => writeSyntheticBackup(d, { chunkEnds: [T], userVersion: 1 }), /schema version 1, expected 3/, 'schema'],
    ['an older schema without a chunk table', (d) => { writeSyntheticBackup(d, { chunkEnds: [], userVersion: 2 }); dropTable(d, 'chunk'); }, /schema version 2, expected 3/, 'schema'],
    ['a current schema without a chunk table', (d) => { writeSyntheticBackup(d, { chunkEnds: [] }); dropTable(d, 'chunk'); }, /no such table: chunk/, 'schema'],
  ];
  broken.forEach(([name, make, message, problem], i) => {
    test(`${name} is a typed error naming the file`, () => {
      const data = join(dir, `r/${problem}${i}/user_X`);
      writeSyntheticBackup(join(dir, `r/${problem}${i}/other`), { chunkEnds: [] });
      make(data);
      assert.throws(() => readBackupIndex(data), (err: unknown) => {
        assert.ok(err instanceof BackupIndexError);
        assert.equal(err.problem, problem);
        assert.match(err.message, new RegExp(`^${data}`));
        assert.match(err.message, message);
        return true;
      });
    });
  });
});

describe('incremental scan', () => {
  function fleet(name: string) {
    const root = join(dir, name);
    const users = ['anne', 'bob', 'carol'];
    const files = users.map((u) => join(root, u[0]!, `${u}_X`));
    users.forEach((_, i) => writeSyntheticBackup(files[i]!, { chunkEnds: [T + i] }));
    const db = join(root, 'backups.db');
    writeFlatBackupsDb(db, users.map((u, i) => [u, files[i]!]));
    return { db, files, paths: { backupsDb: db, backupsDbFormat: 'flat' as const } };
  }

  test('an unchanged index is not reopened; a changed one is', async () => {
    const { paths, files } = fleet('inc');
    const scanner = new BackupServerScanner(paths, new MemoryScanCache());
    const first = await scanner.scan();
    assert.deepEqual(scanner.lastStats, { users: 3, indexesRead: 3, readBySqlite: 0, indexesReused: 0, unreadable: 0 });
    assert.deepEqual(first.entries.map((e) => e.index?.lastBackup), [T * 1000, (T + 1) * 1000, (T + 2) * 1000]);

    await scanner.scan();
    assert.deepEqual(scanner.lastStats, { users: 3, indexesRead: 0, readBySqlite: 0, indexesReused: 3, unreadable: 0 });

    writeSyntheticBackup(files[1]!, { chunkEnds: [T + 500] });
    const later = new Date(Date.now() + 5000);
    utimesSync(`${files[1]!}.index`, later, later);
    const third = await scanner.scan();
    assert.deepEqual(scanner.lastStats, { users: 3, indexesRead: 1, readBySqlite: 0, indexesReused: 2, unreadable: 0 });
    assert.equal(third.entries[1]!.index!.lastBackup, (T + 500) * 1000);
  });

  test('the cache survives a restart through the state database', async () => {
    const { paths } = fleet('persist');
    const stateFile = join(dir, 'persist-state.db');
    const db1 = openStateDb(stateFile);
    await new BackupServerScanner(paths, new SqliteScanCache(db1)).scan();
    db1.close();

    const db2 = openStateDb(stateFile);
    const restarted = new BackupServerScanner(paths, new SqliteScanCache(db2));
    const view = await restarted.scan();
    db2.close();
    assert.deepEqual(restarted.lastStats, { users: 3, indexesRead: 0, readBySqlite: 0, indexesReused: 3, unreadable: 0 });
    assert.equal(view.entries[2]!.index!.lastBackup, (T + 2) * 1000);
  });

  test('a cache written before the newest chunk id was kept is read again after the upgrade', async () => {
    const { paths, files } = fleet('upgrade');
    const stateFile = join(dir, 'upgrade-state.db');
    const before = new Database(stateFile);
    before.exec(MIGRATIONS.slice(0, 2).join(';\n'));
    before.pragma('user_version = 2');
    const row = before.prepare('INSERT INTO scan_cache VALUES (?, ?, ?, ?, ?, ?, 1, 50, 3, 100)');
    ['anne', 'bob', 'carol'].forEach((userid, i) => {
      const st = statSync(`${files[i]!}.index`);
      row.run(userid, files[i]!, st.ino, st.size, st.mtimeMs, (T + 10 + i) * 1000);
    });
    before.close();

    const db = openStateDb(stateFile);
    const scanner = new BackupServerScanner(paths, new SqliteScanCache(db));
    const view = await scanner.scan();
    db.close();
    assert.deepEqual(scanner.lastStats, { users: 3, indexesRead: 3, readBySqlite: 0, indexesReused: 0, unreadable: 0 });
    assert.deepEqual(view.entries[2]!.index, { lastBackup: (T + 2) * 1000, newestChunkId: 1, chunks: 1, dataBytes: 100 });
  });

  test('an index with a journal beside it (being written) is read through SQLite, and the stats say so', async () => {
    const { paths, files } = fleet('journal');
    writeFileSync(`${files[1]!}.index-journal`, '');
    const scanner = new BackupServerScanner(paths);
    const view = await scanner.scan();
    assert.deepEqual(scanner.lastStats, { users: 3, indexesRead: 3, readBySqlite: 1, indexesReused: 0, unreadable: 0 });
    assert.deepEqual(view.entries.map((e) => e.index?.lastBackup), [T * 1000, (T + 1) * 1000, (T + 2) * 1000]);
  });

  test('an unreadable index is reported for that user and the scan goes on', async () => {
    const { paths, files } = fleet('bad');
    writeFileSync(`${files[0]!}.index`, 'garbage');
    const view = await new BackupServerScanner(paths).scan();
    assert.ok(view.entries[0]!.error instanceof BackupIndexError);
    assert.equal(view.entries[0]!.index, null);
    assert.equal(view.entries[1]!.index!.chunks, 1);
    assert.equal(view.entries[2]!.index!.chunks, 1);
  });

  test('an unchanged backups.db is not read again; a rewritten one is', async () => {
    const { paths, db, files } = fleet('listing');
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(db, anHourAgo, anHourAgo);
    const scanner = new BackupServerScanner(paths, new MemoryScanCache());
    await scanner.scan();
    // Same inode, size and mtime, other content: only a scanner that did not read it again still sees bob.
    writeFlatBackupsDb(db, [['anne', files[0]!], ['bxb', files[1]!], ['carol', files[2]!]]);
    utimesSync(db, anHourAgo, anHourAgo);
    assert.deepEqual((await scanner.scan()).entries.map((e) => e.userid), ['anne', 'bob', 'carol']);

    writeFlatBackupsDb(db, [['anne', files[0]!]]);
    assert.deepEqual((await scanner.scan()).entries.map((e) => e.userid), ['anne']);
  });

  test('a backups.db written around the time it was read is read again, whatever its fingerprint says', async () => {
    const { paths, db, files } = fleet('racy');
    const justNow = new Date();
    utimesSync(db, justNow, justNow);
    const scanner = new BackupServerScanner(paths, new MemoryScanCache());
    await scanner.scan();
    writeFlatBackupsDb(db, [['anne', files[0]!], ['bxb', files[1]!], ['carol', files[2]!]]);
    utimesSync(db, justNow, justNow);
    assert.deepEqual((await scanner.scan()).entries.map((e) => e.userid), ['anne', 'bxb', 'carol']);
  });

  test('users gone from backups.db leave the cache', async () => {
    const { paths, db, files } = fleet('gone');
    const cache = new MemoryScanCache();
    await new BackupServerScanner(paths, cache).scan();
    writeFlatBackupsDb(db, [['anne', files[0]!]]);
    await new BackupServerScanner(paths, cache).scan();
    assert.deepEqual([...cache.load().keys()], ['anne']);
  });
});
