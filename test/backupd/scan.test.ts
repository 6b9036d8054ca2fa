import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import fs, { mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BackupIndexError } from '../../src/backupd/index-error.js';
import { readBackupIndex } from '../../src/backupd/backup-summary.js';
import { BackupServerScanner } from '../../src/backupd/scan.js';
import { MemoryScanCache } from '../support/memory-scan-cache.js';
import { MIGRATIONS } from '../../src/scheduler/state/migrations.js';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { SqliteScanCache } from '../../src/scheduler/state/scan-cache-store.js';
import { decodeBackedUpMailboxes, encodeBackedUpMailboxes } from '../../src/backupd/backed-up-mailboxes.js';
import { CYRUS_MAILBOXES } from '../support/chunk-index.js';
import { writeFlatBackupsDb, writeSyntheticBackup } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-scan-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T = 1_795_000_000;
/** CYRUS_MAILBOXES's live rows, as a summary carries them. */
const CYRUS_LIVE = encodeBackedUpMailboxes(
  CYRUS_MAILBOXES.filter((m) => m.deleted === undefined).map((m) => ({ name: m.name as string, uidvalidity: m.uidvalidity as number, lastUid: m.lastUid as number, highestModseq: m.highestModseq as number })),
);

function dropTable(dataFile: string, table: string): void {
  const db = new Database(`${dataFile}.index`);
  db.exec(`DROP TABLE ${table}`);
  db.close();
}

describe('index reader', () => {
  test('last backup is the newest chunk by id, as ctl_backups list shows it, not the latest end; the chunk count, the live mailboxes and the data file size come along', () => {
    const data = join(dir, 'r/a/anne_X');
    writeSyntheticBackup(data, { chunkEnds: [T - 100, T, T - 50], messages: 7, mailboxes: CYRUS_MAILBOXES, dataBytes: 1234 });
    assert.deepEqual(readBackupIndex(data), { lastBackup: (T - 50) * 1000, newestChunkId: 3, chunks: 3, dataBytes: 1234, mailboxes: CYRUS_LIVE });
  });

  test('the message count only when asked for', () => {
    const data = join(dir, 'r/a/anna_X');
    writeSyntheticBackup(data, { chunkEnds: [T], messages: 7, mailboxes: CYRUS_MAILBOXES, dataBytes: 1234 });
    assert.deepEqual(readBackupIndex(data, { detail: true }), { lastBackup: T * 1000, newestChunkId: 1, chunks: 1, messages: 7, mailboxes: CYRUS_LIVE, dataBytes: 1234 });
  });

  test('the scan reads the chunk and mailbox tables alone; the detail needs the others', () => {
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
  // The pages of an index are read once SQLite has read one of its schema in this process: not in these stats.
  before(() => {
    const data = join(dir, 'inc-schema/user_X');
    writeSyntheticBackup(data, { chunkEnds: [T] });
    readBackupIndex(data);
  });

  /** Each user's INBOX and Sent, as their summary carries them. */
  const foldersOf = (userid: string, i: number) => [
    { name: `user.${userid}`, uidvalidity: 1_700_000_000 + i, lastUid: 10 + i, highestModseq: 100 + i },
    { name: `user.${userid}.Sent`, uidvalidity: 1_700_000_100 + i, lastUid: 3, highestModseq: 30 },
  ];

  function fleet(name: string) {
    const root = join(dir, name);
    const users = ['anne', 'bob', 'carol'];
    const files = users.map((u) => join(root, u[0]!, `${u}_X`));
    users.forEach((u, i) => writeSyntheticBackup(files[i]!, { chunkEnds: [T + i], mailboxes: foldersOf(u, i) }));
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
    assert.deepEqual(
      view.entries.map((e) => decodeBackedUpMailboxes(e.index!.mailboxes)),
      ['anne', 'bob', 'carol'].map(foldersOf),
    );
  });

  test('mailbox names of any kind survive the state database as they were read', async () => {
    const { paths, files } = fleet('persist-names');
    const names = ['user.j&APw-rgen', 'example.com!user.anne^smith.Sent', 'user.anne.a "quoted" \\ name', 'user.anne.日本語', 'user.anne.😀', 'user.anne.,[]{}:'];
    const folders = names.map((name, i) => ({ name, uidvalidity: 2 ** 32 - 1 - i, lastUid: 0, highestModseq: Number.MAX_SAFE_INTEGER - i }));
    writeSyntheticBackup(files[0]!, { chunkEnds: [T], mailboxes: folders });
    const stateFile = join(dir, 'persist-names-state.db');
    const db1 = openStateDb(stateFile);
    await new BackupServerScanner(paths, new SqliteScanCache(db1)).scan();
    db1.close();
    const db2 = openStateDb(stateFile);
    const cached = new SqliteScanCache(db2).load();
    db2.close();
    assert.deepEqual(decodeBackedUpMailboxes(cached.get('anne')!.summary.mailboxes), folders);
  });

  // What each older release cached, one row per user given the index's stat and a wrong last backup.
  const olderCaches: Array<[string, number, string]> = [
    ['the newest chunk id was kept', 2, 'INSERT INTO scan_cache VALUES (?, ?, ?, ?, ?, ?, 1, 50, 3, 100)'],
    ["the data file's fingerprint was kept", 4, 'INSERT INTO scan_cache VALUES (?, ?, ?, ?, ?, ?, 1, 100, 1)'],
  ];
  for (const [what, version, insert] of olderCaches) {
    test(`a cache written before ${what} is read again after the upgrade`, async () => {
      const { paths, files } = fleet(`upgrade-${version}`);
      const stateFile = join(dir, `upgrade-${version}-state.db`);
      const older = new Database(stateFile);
      older.exec(MIGRATIONS.slice(0, version).join(';\n'));
      older.pragma(`user_version = ${version}`);
      const row = older.prepare(insert);
      ['anne', 'bob', 'carol'].forEach((userid, i) => {
        const st = statSync(`${files[i]!}.index`);
        row.run(userid, files[i]!, st.ino, st.size, st.mtimeMs, (T + 10 + i) * 1000);
      });
      older.close();

      const db = openStateDb(stateFile);
      const scanner = new BackupServerScanner(paths, new SqliteScanCache(db));
      const view = await scanner.scan();
      db.close();
      assert.deepEqual(scanner.lastStats, { users: 3, indexesRead: 3, readBySqlite: 0, indexesReused: 0, unreadable: 0 });
      assert.deepEqual(view.entries[2]!.index, { lastBackup: (T + 2) * 1000, newestChunkId: 1, chunks: 1, dataBytes: 100, mailboxes: encodeBackedUpMailboxes(foldersOf('carol', 2)) });
    });
  }

  test('a cache written before the mailboxes were kept is read again after the upgrade, although every fingerprint still holds', async () => {
    const { paths, files } = fleet('upgrade-mailboxes');
    const stateFile = join(dir, 'upgrade-mailboxes-state.db');
    const older = new Database(stateFile);
    older.exec(MIGRATIONS.slice(0, 6).join(';\n'));
    older.pragma('user_version = 6');
    const row = older.prepare('INSERT INTO scan_cache VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?)');
    ['anne', 'bob', 'carol'].forEach((userid, i) => {
      const index = statSync(`${files[i]!}.index`);
      const data = statSync(files[i]!);
      row.run(userid, files[i]!, index.ino, index.size, index.mtimeMs, data.ino, data.size, data.mtimeMs, (T + i) * 1000, data.size);
    });
    older.close();

    const db = openStateDb(stateFile);
    const scanner = new BackupServerScanner(paths, new SqliteScanCache(db));
    const view = await scanner.scan();
    assert.deepEqual(scanner.lastStats, { users: 3, indexesRead: 3, readBySqlite: 0, indexesReused: 0, unreadable: 0 });
    await scanner.scan();
    db.close();
    assert.deepEqual(scanner.lastStats, { users: 3, indexesRead: 0, readBySqlite: 0, indexesReused: 3, unreadable: 0 }, 'the second scan reuses what the first read');
    assert.deepEqual(view.entries.map((e) => decodeBackedUpMailboxes(e.index!.mailboxes)), ['anne', 'bob', 'carol'].map(foldersOf));
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

  test('a bad value in a live mailbox row makes that user unreadable, naming the row and the column; the scan goes on', async () => {
    const { paths, files } = fleet('bad-mailbox');
    writeSyntheticBackup(files[1]!, { chunkEnds: [T + 1], mailboxes: [{ name: 'user.bob', uidvalidity: 0, lastUid: 1, highestModseq: 1 }] });
    const scanner = new BackupServerScanner(paths);
    const view = await scanner.scan();
    assert.equal(view.entries[1]!.index, null);
    assert.equal(view.entries[1]!.error?.problem, 'corrupt');
    assert.match(view.entries[1]!.error?.message ?? '', /bob_X\.index: mailbox row 1 \("user\.bob"\)'s uidvalidity is not a UIDVALIDITY \(1 to 4294967295\): 0 /);
    assert.equal(scanner.lastStats.unreadable, 1);
    assert.deepEqual([view.entries[0]!.index?.chunks, view.entries[2]!.index?.chunks], [1, 1]);
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

describe('a backup is its data file and its index', () => {
  /** anne and bob, one chunk each: bob's data file is what a test changes, anne's stays as it was. */
  function pair(name: string) {
    const root = join(dir, name);
    const files = ['anne', 'bob'].map((u) => join(root, u[0]!, `${u}_X`));
    files.forEach((f, i) => writeSyntheticBackup(f, { chunkEnds: [T - 10, T + i] }));
    const db = join(root, 'backups.db');
    writeFlatBackupsDb(db, [['anne', files[0]!], ['bob', files[1]!]]);
    return { root, bob: files[1]!, paths: { backupsDb: db, backupsDbFormat: 'flat' as const } };
  }

  /** A new file put where the old one was, as a restore or a copy does: a new inode. */
  function replaceWith(file: string, bytes: Buffer): void {
    writeFileSync(`${file}.new`, bytes);
    renameSync(`${file}.new`, file);
  }

  const changes: Array<[string, (bob: string) => void, RegExp]> = [
    ['deleted', (bob) => rmSync(bob), /bob_X: backup data file: ENOENT/],
    ['truncated before its newest chunk', (bob) => truncateSync(bob, 30), /bob_X: the data file is truncated: 30 bytes/],
    ['replaced by a file of the same size with other content', (bob) => replaceWith(bob, Buffer.alloc(statSync(bob).size, 0x41)), /bob_X: .*no gzip member/],
    ['replaced by a larger file with other content', (bob) => replaceWith(bob, Buffer.alloc(5000, 0x41)), /bob_X: .*no gzip member/],
  ];

  for (const [change, make, message] of changes) {
    test(`a data file ${change}: the user is unreadable, on a cold scan and through a warm scanner and its state database`, async () => {
      const { root, bob, paths } = pair(`data-${change.replaceAll(' ', '-')}`);
      const memory = new BackupServerScanner(paths, new MemoryScanCache());
      const stateFile = join(root, 'state.db');
      const state = openStateDb(stateFile);
      try {
        const stored = new BackupServerScanner(paths, new SqliteScanCache(state));
        for (const scanner of [memory, stored]) assert.deepEqual((await scanner.scan()).entries.map((e) => e.error), [null, null]);
        make(bob);
        const restarted = new BackupServerScanner(paths, new SqliteScanCache(state));
        for (const [how, scanner] of [['cold', new BackupServerScanner(paths)], ['warm', memory], ['warm, restarted from its state database', restarted]] as const) {
          const [anne, bobEntry] = (await scanner.scan()).entries;
          assert.equal(bobEntry!.index, null, `${how}: bob kept ${JSON.stringify(bobEntry!.index)}`);
          assert.match(bobEntry!.error?.message ?? '', message, how);
          assert.deepEqual(anne!.index, { lastBackup: T * 1000, newestChunkId: 2, chunks: 2, dataBytes: 100, mailboxes: '[]' }, how);
          if (how !== 'cold') assert.equal(scanner.lastStats.indexesReused, 1, `${how}: anne's backup is reused`);
        }
      } finally {
        state.close();
      }
    });
  }

  test('a data file replaced by a larger backup data file is read again: its size, not the old one', async () => {
    const { bob, paths } = pair('data-larger-backup');
    const scanner = new BackupServerScanner(paths, new MemoryScanCache());
    await scanner.scan();
    replaceWith(bob, Buffer.concat([readFileSync(bob), Buffer.alloc(900)]));
    const [, bobEntry] = (await scanner.scan()).entries;
    assert.deepEqual(bobEntry!.index, { lastBackup: (T + 1) * 1000, newestChunkId: 2, chunks: 2, dataBytes: 1000, mailboxes: '[]' });
  });

  test('an untouched backup is reused with one stat of each of its two files, neither opened', async () => {
    const { bob, paths } = pair('data-untouched');
    const scanner = new BackupServerScanner(paths, new MemoryScanCache());
    await scanner.scan();
    const calls = spyOnFs(['statSync', 'openSync']);
    try {
      await scanner.scan();
    } finally {
      calls.restore();
    }
    assert.deepEqual(scanner.lastStats, { users: 2, indexesRead: 0, readBySqlite: 0, indexesReused: 2, unreadable: 0 });
    const ofBob = calls.log.filter(([, path]) => path.startsWith(bob));
    assert.deepEqual(ofBob.sort(), [['statSync', bob], ['statSync', `${bob}.index`]]);
    assert.equal(calls.log.filter(([name]) => name === 'openSync').length, 0);
  });
});

/** Records the calls of these node:fs functions by everyone in this thread, ES module importers included. */
function spyOnFs(names: ReadonlyArray<'statSync' | 'openSync'>) {
  const log: Array<[string, string]> = [];
  const originals = names.map((name) => [name, fs[name]] as const);
  for (const [name, original] of originals) {
    (fs as Record<string, unknown>)[name] = (path: string, ...rest: unknown[]) => {
      log.push([name, String(path)]);
      return (original as (...args: unknown[]) => unknown)(path, ...rest);
    };
  }
  syncBuiltinESMExports();
  return {
    log,
    restore: () => {
      for (const [name, original] of originals) (fs as Record<string, unknown>)[name] = original;
      syncBuiltinESMExports();
    },
  };
}
