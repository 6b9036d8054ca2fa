// backupd.pageReader: false (or XBACKUP_SCHEDULER_PAGE_READER=false) leaves every index to SQLite: the
// scan's reads on any thread, and the reads that verify an XBACKUP. An index a writer holds locked tells
// the two apart: its settled pages read, SQLite waits for the writer and says "locked".
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { readBackupIndex } from '../../src/backupd/backup-summary.js';
import { BackupsDbReader, type BackupdFiles } from '../../src/backupd/backups-listing.js';
import { sharedCounter } from '../../src/backupd/claim-batches.js';
import { BackupServerScanner } from '../../src/backupd/scan.js';
import { IndexReadRows } from '../../src/backupd/scan-read-rows.js';
import type { IndexRead } from '../../src/backupd/scan-read.js';
import type { JobDone, ReadJob } from '../../src/backupd/scan-workers.js';
import { resolveBackupServer } from '../../src/cli/backup-server-view.js';
import { ConfigErrors, ConfigError } from '../../src/config/errors.js';
import { parseConfig, PAGE_READER_ENV } from '../../src/config/load.js';
import { NO_CHUNK } from '../../src/scheduler/backup-result.js';
import { readChunkMarks, verifyBackups } from '../../src/scheduler/verify-backups.js';
import { writeFlatBackupsDb, writeSyntheticBackup } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-page-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T = 1_795_000_000;
const USERS = ['anne', 'bob', 'carl', 'dora', 'emil'];
const dataFiles = USERS.map((u) => join(dir, 'data', u[0]!, `${u}_X`));
const backupsDb = join(dir, 'backups.db');
/** bob's index, which a writer holds locked in the tests that need it. */
const LOCKED = 1;

before(() => {
  USERS.forEach((_, i) => writeSyntheticBackup(dataFiles[i]!, { chunkEnds: [T, T + 10 * i] }));
  writeFlatBackupsDb(backupsDb, USERS.map((u, i) => [u, dataFiles[i]!]));
  // The page reader reads a schema SQLite has read before on the same thread: this one, from here on.
  readBackupIndex(dataFiles[0]!);
});

describe('the switch', () => {
  const imapdConf = join(dir, 'imapd.conf');
  const configFile = join(dir, 'config.yaml');
  const config = (yaml: string, env: NodeJS.ProcessEnv = {}) => parseConfig(`backupd:\n  imapdConf: ${imapdConf}\n${yaml}`, configFile, { env });
  before(() => writeFileSync(imapdConf, `configdirectory: ${dir}\nbackuppartition-default: ${join(dir, 'data')}\n`));

  test('on by default; off by backupd.pageReader: false or, for one command, XBACKUP_SCHEDULER_PAGE_READER=false; the backup server paths carry it', () => {
    assert.equal(resolveBackupServer(config('')).pageReader, true);
    assert.equal(resolveBackupServer(config('  pageReader: false\n')).pageReader, false);
    assert.equal(resolveBackupServer(config('', { [PAGE_READER_ENV]: 'false' })).pageReader, false);
    assert.equal(resolveBackupServer(config('  pageReader: false\n', { [PAGE_READER_ENV]: 'true' })).pageReader, true, 'the environment over the file');
  });

  test('anything but true or false is a configuration error, in the file and in the environment', () => {
    assert.throws(
      () => config('  pageReader: no\n'),
      (err: unknown) => err instanceof ConfigErrors && /config\.yaml:3: backupd\.pageReader: expected true or false/.test(err.message),
    );
    assert.throws(
      () => config('', { [PAGE_READER_ENV]: '0' }),
      (err: unknown) => err instanceof ConfigError && err.message === `environment: ${PAGE_READER_ENV}: expected true or false (it overrides backupd.pageReader)`,
    );
  });
});

describe('with a writer holding one index locked', () => {
  let holder: Database.Database;
  before(() => {
    holder = new Database(`${dataFiles[LOCKED]!}.index`);
    // An exclusive lock and no write yet: no journal, so the pages are settled; SQLite waits for the lock.
    holder.exec('BEGIN EXCLUSIVE');
  });
  after(() => holder.close());

  const files = (pageReader?: boolean): BackupdFiles => ({ backupsDb, backupsDbFormat: 'flat', ...(pageReader !== undefined && { pageReader }) });

  test('a scan reads it from its pages; with the page reader off, SQLite reads every index and finds that one locked', async () => {
    for (const [pageReader, bySqlite, problem] of [[undefined, 0, undefined], [true, 0, undefined], [false, USERS.length, 'locked']] as const) {
      const scanner = new BackupServerScanner(files(pageReader));
      try {
        const view = await scanner.scan();
        assert.deepEqual(scanner.lastStats, { users: USERS.length, indexesRead: USERS.length, readBySqlite: bySqlite, indexesReused: 0, unreadable: problem ? 1 : 0 }, `pageReader ${pageReader}`);
        assert.equal(view.entries[LOCKED]!.error?.problem, problem, `pageReader ${pageReader}`);
        assert.equal(view.entries[LOCKED]!.index?.newestChunkId, problem ? undefined : 2, `pageReader ${pageReader}`);
      } finally {
        await scanner.close();
      }
    }
  });

  test('the reads around an XBACKUP read it from its pages; with the page reader off, SQLite finds it locked', async () => {
    const userids = [USERS[LOCKED]!];
    const on = new BackupsDbReader(files());
    assert.deepEqual((await readChunkMarks(on, userids)).get(userids[0]!), { chunkId: 2, lastBackup: (T + 10) * 1000, dataBytes: 100 });
    const [verified] = await verifyBackups(on, userids, new Map([[userids[0]!, NO_CHUNK]]), new Set(userids));
    assert.equal(verified?.verified, true, verified?.reason ?? '');

    const off = new BackupsDbReader(files(false));
    assert.deepEqual((await readChunkMarks(off, userids)).get(userids[0]!), NO_CHUNK, 'unreadable before the command: no chunk');
    const [unverified] = await verifyBackups(off, userids, new Map([[userids[0]!, NO_CHUNK]]), new Set(userids));
    assert.equal(unverified?.verified, false);
    assert.match(unverified?.reason ?? '', /database is locked/);
  });
});

test('a scan thread reads by SQLite alone when its job says so', async () => {
  const worker = new Worker(new URL('../../src/backupd/scan-worker-thread.js', import.meta.url));
  let id = 0;
  // This thread claims none of the job: the worker reads every index.
  const read = (pageReader: boolean) =>
    new Promise<IndexRead[]>((resolve) => {
      const rows = IndexReadRows.create(dataFiles.length);
      const job: ReadJob = { kind: 'read', id: id++, dataFiles, pageReader, rows: rows.shared, next: sharedCounter() };
      worker.once('message', (done: JobDone) => {
        rows.takeOver(done.reads);
        resolve(dataFiles.map((_, i) => rows.get(i)));
      });
      worker.postMessage(job);
    });
  try {
    // The worker's first index of the schema is SQLite's, which teaches it the schema: its pages are read from then on.
    const first = await read(true);
    assert.deepEqual(first.map((r) => r.bySqlite), [true, false, false, false, false]);
    const off = await read(false);
    assert.deepEqual(off.map((r) => r.bySqlite), [true, true, true, true, true]);
    assert.deepEqual(off.map((r) => r.summary), first.map((r) => r.summary));
  } finally {
    await worker.terminate();
  }
});
