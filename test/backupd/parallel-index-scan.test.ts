import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BackupIndexError } from '../../src/backupd/index-error.js';
import { IndexReadRows } from '../../src/backupd/scan-read-rows.js';
import { readIndexOf, type IndexRead } from '../../src/backupd/scan-read.js';
import { ScanWorkers } from '../../src/backupd/scan-workers.js';
import { writeSyntheticBackup } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-parallel-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T = 1_795_000_000;

/** Several batches' worth of indexes, each with mailboxes of its own, every seventh one broken in a different way. */
function indexes(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const data = join(dir, String(i % 10), `user${i}_X`);
    // A mailbox row names its chunk: none without one.
    const mailboxes = Array.from({ length: i % 4 === 0 ? 0 : i % 5 }, (_, m) => ({ name: `user.user${i}.F${m}`, uidvalidity: 1 + i, lastUid: m, highestModseq: i * m }));
    writeSyntheticBackup(data, { chunkEnds: Array.from({ length: i % 4 }, (_, c) => T + i + c), dataBytes: 100 + i, mailboxes });
    if (i % 21 === 7) rmSync(`${data}.index`);
    if (i % 21 === 14) writeFileSync(`${data}.index`, Buffer.alloc(4096, 0x41));
    if (i % 21 === 0) writeSyntheticBackup(data, { chunkEnds: [T], userVersion: 1 });
    return data;
  });
}

/** Each thread has SQLite read the first index of each schema it meets: which reads those are depends on the threads. */
const withoutBySqlite = ({ bySqlite: _, ...read }: IndexRead) => read;

test('read by several threads, the result is the one-by-one read, in the same order, errors and all', async () => {
  const dataFiles = indexes(230);
  const workers = new ScanWorkers({ parallelFrom: 0 });
  const parallel = await workers.readIndexes(dataFiles).finally(() => workers.close());
  const oneByOne = dataFiles.map((dataFile) => readIndexOf(dataFile));
  assert.deepEqual(parallel.map(withoutBySqlite), oneByOne.map(withoutBySqlite));
  assert.ok(parallel.some((r) => r.error instanceof BackupIndexError && r.error.problem === 'missing'));
  assert.ok(parallel.some((r) => r.error instanceof BackupIndexError && r.error.problem === 'corrupt'));
  assert.ok(parallel.some((r) => r.error instanceof BackupIndexError && r.error.problem === 'schema'));
  assert.equal(parallel[5]!.summary!.dataBytes, 105);
  assert.equal(parallel[3]!.summary!.mailboxes, JSON.stringify([0, 1, 2].map((m) => [`user.user3.F${m}`, 4, m, 3 * m])));
});

test("a row another thread read is not complete until that thread's mailboxes (or error) are taken over: a worker that died leaves it to be read again", () => {
  const dataFiles = indexes(2);
  const rows = IndexReadRows.create(2);
  const theirs = new IndexReadRows(rows.shared);
  dataFiles.forEach((dataFile, i) => theirs.set(i, readIndexOf(dataFile)));
  assert.deepEqual([rows.isComplete(0), rows.isComplete(1)], [false, false]);
  rows.takeOver(theirs.held);
  assert.deepEqual([rows.isComplete(0), rows.isComplete(1)], [true, true]);
  assert.deepEqual([rows.get(0), rows.get(1)].map(withoutBySqlite), dataFiles.map((dataFile) => withoutBySqlite(readIndexOf(dataFile))));
});

test('a few indexes are read on this thread alone', async () => {
  const dataFiles = indexes(3);
  assert.deepEqual(await new ScanWorkers().readIndexes(dataFiles), dataFiles.map((dataFile) => readIndexOf(dataFile)));
});
