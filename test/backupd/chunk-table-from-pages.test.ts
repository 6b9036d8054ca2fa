// The chunk table read from an index's pages (readChunkTableFromPages) against SQLite's own answer:
// equal on every plain rollback-journal index, whatever its page size, depth, freelist, overflow pages
// or values; and on everything else declined (NotPlainPages), where the public reader (readBackupIndex)
// still gives SQLite's summary or SQLite's typed error. Every agreement also asserts that the pages were
// read, not declined: a reader that declined everything would fail here.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { readChunkTableFromPages, type ChunkTablePages } from '../../src/backupd/chunk-table-from-pages.js';
import { BackupIndexError, type BackupIndexProblem } from '../../src/backupd/index-error.js';
import { readBackupIndex, type BackupIndexSummary } from '../../src/backupd/index-reader.js';
import { NotPlainPages } from '../../src/backupd/sqlite-file/not-plain-pages.js';
import { indexShape, sqliteChunkAnswer, writeChunkIndex, writeDataFile, type ChunkIndexOptions, type IndexShape, type TsEnd } from '../support/chunk-index.js';
import { fuzzSettings } from '../support/fuzz-settings.js';
import { SCHEMA } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-chunk-pages-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const settings = fuzzSettings();

const T = 1_795_000_000;
const DATA_BYTES = 1234;
const PAGE_SIZES = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536] as const;

let places = 0;
/** A fresh data file (the index beside it is the test's to write). */
function place(): { data: string; index: string } {
  const data = join(dir, `u${places++}`, 'user_X');
  writeDataFile(data, DATA_BYTES);
  return { data, index: `${data}.index` };
}

/** count and max of the integer ts_ends left after `deleted` (ids are 1-based positions): what the rows say, without SQLite. */
/** Chunk i has id i + 1: the newest is the last one not deleted. */
function modelAnswer(tsEnds: readonly TsEnd[], deleted: ReadonlySet<number> = new Set()): Model {
  let chunks = 0;
  let newestId: number | null = null;
  let newestEnd: number | null = null;
  tsEnds.forEach((end, i) => {
    if (deleted.has(i + 1)) return;
    chunks++;
    newestId = i + 1;
    newestEnd = typeof end === 'number' ? end : null;
  });
  return { chunks, newestId, newestEnd };
}

type Model = { chunks: number; newestId: number | null; newestEnd: number | null };

/** The pages were read (not declined), and say what SQLite says; the public reader returns the same. */
function assertAgrees(index: string, data: string): ChunkTablePages {
  const pages = readChunkTableFromPages(index);
  assert.ok(!(pages instanceof NotPlainPages), `the page reader declined a plain index: ${(pages as NotPlainPages).message}`);
  const sqlite = sqliteChunkAnswer(index);
  const st = statSync(index);
  assert.deepEqual(pages, { fingerprint: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs }, ...sqlite });
  if (sqlite.userVersion >= 3) {
    const isTime = sqlite.newestEnd !== null && sqlite.newestEnd >= 0 && sqlite.newestEnd <= 253_402_300_799;
    if (sqlite.newestId === null || isTime) {
      const lastBackup = sqlite.newestEnd === null ? null : sqlite.newestEnd * 1000;
      assert.deepEqual(readBackupIndex(data), { lastBackup, newestChunkId: sqlite.newestId, chunks: sqlite.chunks, dataBytes: DATA_BYTES });
    } else {
      assert.throws(() => readBackupIndex(data), (err: unknown) => err instanceof BackupIndexError && err.problem === 'corrupt' && /ts_end is not a time/.test(err.message));
    }
  }
  return pages;
}

const range = (n: number, f: (i: number) => TsEnd): TsEnd[] => Array.from({ length: n }, (_, i) => f(i));
/** A fixed shuffle: ts_end out of rowid order, its max somewhere in the middle. */
const scrambled = (n: number): TsEnd[] => range(n, (i) => T + ((i * 7919) % n) - (i % 13 === 5 ? 10 * n : 0));
const withNulls = (n: number): TsEnd[] => range(n, (i) => (i % 17 === 3 || i === n - 1 ? null : T - n + ((i * 31) % n)));
/** Every boundary of SQLite's integer serial types (1, 2, 3, 4, 6 and 8 bytes, and the constants 0 and 1). */
const BOUNDARIES = [
  0, 1, -1, 127, 128, -128, -129, 32767, 32768, -32768, -32769, 2 ** 23 - 1, 2 ** 23, -(2 ** 23), -(2 ** 23) - 1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31),
  -(2 ** 31) - 1, 2 ** 47 - 1, 2 ** 47, -(2 ** 47), -(2 ** 47) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER,
];
const CYRUS_CREATE_TEXT = `CREATE TABLE IF NOT EXISTS chunk(
    id INTEGER PRIMARY KEY ASC,
    ts_start INTEGER,
    ts_end INTEGER,
    offset INTEGER,
    length INTEGER,
    file_sha1 TEXT,
    data_sha1 TEXT
);`;
const [, CHUNK_SQL, MESSAGE_SQL, MAILBOX_SQL] = SCHEMA.split('\n');

interface AgreementCase {
  name: string;
  options: ChunkIndexOptions;
  /** Run on the written index before reading it (e.g. an ALTER TABLE). */
  then?: (index: string) => void;
  /** What the case claims about the file's structure, so that it covers what its name says. */
  shape?: (shape: IndexShape) => void;
  /** The answer worked out from the rows themselves; SQLite's must be it too. */
  model?: Model;
}

function rowsCase(name: string, options: ChunkIndexOptions, shape?: (shape: IndexShape) => void): AgreementCase {
  const deleted = new Set(options.deleteIds ?? []);
  return { name, options, model: modelAnswer(options.tsEnds, deleted), ...(shape ? { shape } : {}) };
}

const AGREEMENT: AgreementCase[] = [
  rowsCase('no chunk', { tsEnds: [] }, (s) => assert.equal(s.chunkDepth, 1)),
  rowsCase('one chunk', { tsEnds: [T] }),
  rowsCase('one chunk with a NULL ts_end', { tsEnds: [null] }),
  rowsCase('chunks whose ts_end are all NULL', { tsEnds: [null, null, null] }),
  rowsCase('5,000 chunks in 4096-byte pages', { tsEnds: range(5000, (i) => T + i) }, (s) => assert.ok(s.chunkDepth >= 2, `depth ${s.chunkDepth}`)),
  rowsCase('3,000 chunks in 512-byte pages: a b-tree of depth 3, a schema over several pages', { pageSize: 512, tsEnds: scrambled(3000), messages: 5, mailboxes: 2 }, (s) => {
    assert.ok(s.chunkDepth >= 3, `depth ${s.chunkDepth}`);
    // Cyrus's CREATE TABLE mailbox is longer than a 512-byte page: the schema table has an overflow page.
    assert.ok(s.schemaPages >= 2, `schema pages ${s.schemaPages}`);
  }),
  rowsCase('20,000 chunks in 512-byte pages: depth 4', { pageSize: 512, tsEnds: withNulls(20_000) }, (s) => assert.ok(s.chunkDepth >= 4, `depth ${s.chunkDepth}`)),
  ...PAGE_SIZES.map((pageSize) =>
    rowsCase(`2,500 chunks, ts_end out of order and some NULL, ${pageSize}-byte pages`, { pageSize, tsEnds: scrambled(2500).map((end, i) => (i % 11 === 0 ? null : end)) }, (s) =>
      assert.equal(s.pageSize, pageSize),
    ),
  ),
  rowsCase('ts_end at every boundary of the integer encodings, negative ones included', { tsEnds: [...BOUNDARIES, ...BOUNDARIES.map((b) => -b)] }),
  ...BOUNDARIES.map((b) =>
    rowsCase(`ts_end ${b} as the largest value`, { tsEnds: [b - 1, b, null, b - 2].filter((v) => v === null || Number.isSafeInteger(v)) }),
  ),
  rowsCase('ts_end up to 2^47, the largest not last', { tsEnds: [0, 1, 2 ** 47, -5, 2 ** 46, T] }),
  rowsCase('only negative ts_end', { tsEnds: [-5, -1, -(2 ** 40), -3] }),
  rowsCase('only 0 and 1 (no bytes in the record: serial types 8 and 9)', { tsEnds: [0, 1, 0, 1, 0] }),
  rowsCase('the largest ts_end in the first row', { tsEnds: [T + 100, ...range(999, (i) => T - i)] }),
  rowsCase('NULLs among the rows, the last one NULL', { tsEnds: withNulls(1500) }),
  rowsCase('rows deleted in the middle (pages on the freelist)', { pageSize: 1024, tsEnds: scrambled(4000), deleteIds: range(1500, (i) => 1000 + i) as number[] }, (s) =>
    assert.ok(s.freelistPages > 0, 'freelist pages'),
  ),
  rowsCase('rows deleted in the middle, then VACUUM', { pageSize: 1024, tsEnds: scrambled(4000), deleteIds: range(1500, (i) => 1000 + i) as number[], vacuum: true }, (s) =>
    assert.equal(s.freelistPages, 0),
  ),
  rowsCase('the row holding the largest ts_end deleted', { tsEnds: [T, T + 10, T + 5], deleteIds: [2] }),
  rowsCase('every row deleted', { pageSize: 512, tsEnds: range(800, (i) => T + i), deleteIds: range(800, (i) => i + 1) as number[] }, (s) => assert.ok(s.freelistPages > 0)),
  rowsCase('every other row deleted', { pageSize: 512, tsEnds: scrambled(3000), deleteIds: range(1500, (i) => 2 * i + 1) as number[] }),
  rowsCase('auto_vacuum=FULL (pointer-map pages), rows deleted', { autoVacuum: 'full', pageSize: 512, tsEnds: scrambled(3000), deleteIds: range(700, (i) => 900 + i) as number[] }, (s) =>
    assert.equal(s.autoVacuum, 1),
  ),
  rowsCase('auto_vacuum=INCREMENTAL, rows deleted', { autoVacuum: 'incremental', pageSize: 1024, tsEnds: scrambled(3000), deleteIds: range(700, (i) => 900 + i) as number[] }, (s) => {
    assert.equal(s.autoVacuum, 2);
    assert.ok(s.freelistPages > 0);
  }),
  rowsCase('long file_sha1 and data_sha1: rows on overflow pages (512-byte pages)', { pageSize: 512, sha1Length: 400, tsEnds: scrambled(600) }, (s) =>
    assert.ok(s.chunkOverflowPages > 0, 'overflow pages'),
  ),
  rowsCase('long file_sha1 and data_sha1: rows on overflow pages (4096-byte pages)', { sha1Length: 3000, tsEnds: withNulls(300) }, (s) => assert.ok(s.chunkOverflowPages > 0)),
  rowsCase('rows just over the local payload limit (overflow pages, 65536-byte pages)', { pageSize: 65536, sha1Length: 33_000, tsEnds: withNulls(40) }, (s) => assert.ok(s.chunkOverflowPages > 0)),
  rowsCase('empty file_sha1 and data_sha1', { sha1Length: 0, tsEnds: scrambled(3000) }),
  rowsCase('user_version 3', { userVersion: 3, tsEnds: [T] }),
  rowsCase('user_version 4', { userVersion: 4, tsEnds: [T, T + 1] }),
  rowsCase('user_version 1 (the public reader then asks SQLite, which refuses it)', { userVersion: 1, tsEnds: [T] }),
  rowsCase('the chunk table created last: its root is not page 2', { schema: [MESSAGE_SQL, MAILBOX_SQL, CHUNK_SQL].join('\n'), tsEnds: scrambled(500), messages: 3 }),
  rowsCase("Cyrus's own CREATE text (IF NOT EXISTS, one column a line)", { schema: CYRUS_CREATE_TEXT, tsEnds: scrambled(200) }),
  {
    ...rowsCase('a column added to the chunk table after rows were written (older records are shorter)', { tsEnds: [T, T + 3, null] }),
    then: (index) => {
      const db = new Database(index);
      db.exec('ALTER TABLE chunk ADD COLUMN extra INTEGER');
      db.prepare('INSERT INTO chunk (ts_start, ts_end, extra) VALUES (?, ?, ?)').run(T, T + 1, 5);
      db.close();
    },
    model: { chunks: 4, newestId: 4, newestEnd: T + 1 },
  },
];

describe('the chunk table read from the pages agrees with SQLite on plain indexes', () => {
  for (const c of AGREEMENT) {
    test(c.name, () => {
      const { data, index } = place();
      writeChunkIndex(index, c.options);
      c.then?.(index);
      c.shape?.(indexShape(index));
      const pages = assertAgrees(index, data);
      if (c.model) assert.deepEqual({ chunks: pages.chunks, newestId: pages.newestId, newestEnd: pages.newestEnd }, c.model);
      assert.equal(pages.userVersion, c.options.userVersion ?? 3);
      if (pages.userVersion < 3) {
        assert.throws(() => readBackupIndex(data), (err: unknown) => err instanceof BackupIndexError && err.problem === 'schema' && /schema version 1, expected 3/.test(err.message));
      }
    });
  }

  test('the same index read again gives the same answer; a commit changes the fingerprint', () => {
    const { data, index } = place();
    writeChunkIndex(index, { tsEnds: scrambled(100) });
    const first = assertAgrees(index, data);
    assert.deepEqual(assertAgrees(index, data), first);
    const db = new Database(index);
    db.prepare('INSERT INTO chunk (ts_start, ts_end) VALUES (?, ?)').run(T, T + 10_000);
    db.close();
    const second = assertAgrees(index, data);
    assert.equal(second.chunks, 101);
    assert.equal(second.newestEnd, T + 10_000);
    assert.equal(second.newestId, 101);
    assert.notDeepEqual(second.fingerprint, first.fingerprint);
  });
});

// ---------------------------------------------------------------- property

const tsEndArbitrary: fc.Arbitrary<TsEnd> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 6, arbitrary: fc.integer({ min: T - 50_000_000, max: T + 50_000_000 }) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 47n), max: 2n ** 47n }).map(Number) },
  { weight: 1, arbitrary: fc.constantFrom(...BOUNDARIES) },
);

const randomTable = fc.record({
  pageSize: fc.constantFrom(...PAGE_SIZES),
  tsEnds: fc.array(tsEndArbitrary, { maxLength: 3000, size: 'max' }),
  deletes: fc.array(fc.record({ from: fc.nat({ max: 3000 }), length: fc.integer({ min: 1, max: 600 }) }), { maxLength: 4, size: 'max' }),
  vacuum: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, { arbitrary: fc.constant(true), weight: 1 }),
  autoVacuum: fc.constantFrom('none' as const, 'full' as const, 'incremental' as const),
  /** 'page' makes every record larger than a page (up to 4096-byte pages; beyond, 40). */
  sha1: fc.constantFrom(0, 40, 'page' as const),
  userVersion: fc.constantFrom(3, 4),
});

describe('random chunk tables', () => {
  const seen = { runs: 0, maxChunks: 0, maxDepth: 0, withDeletes: 0, withFreelist: 0, withOverflow: 0, pageSizes: new Set<number>() };
  after(() =>
    console.log(
      `# chunk pages property: ${settings.describe()}; ${seen.runs} runs, up to ${seen.maxChunks} chunks, depth up to ${seen.maxDepth}, ` +
        `${seen.withDeletes} with rows deleted, ${seen.withFreelist} with freelist pages, ${seen.withOverflow} with overflow pages, page sizes ${[...seen.pageSizes].sort((a, b) => a - b).join(' ')}`,
    ),
  );

  test(`the pages agree with SQLite and are never declined (${settings.describe()})`, { timeout: 300_000 }, (t) => {
    t.diagnostic(settings.describe());
    fc.assert(
      fc.property(randomTable, (table) => {
        const { data, index } = place();
        try {
          const deleteIds = new Set(table.deletes.flatMap(({ from, length }) => range(length, (i) => from + i) as number[]));
          const sha1Length = table.sha1 !== 'page' ? table.sha1 : table.pageSize <= 4096 ? Math.ceil(0.6 * table.pageSize) : 40;
          const options: ChunkIndexOptions = { ...table, sha1Length, deleteIds };
          writeChunkIndex(index, options);
          const pages = assertAgrees(index, data);
          assert.deepEqual({ chunks: pages.chunks, newestId: pages.newestId, newestEnd: pages.newestEnd }, modelAnswer(table.tsEnds, deleteIds));
          const shape = indexShape(index);
          seen.runs++;
          seen.maxChunks = Math.max(seen.maxChunks, pages.chunks);
          seen.maxDepth = Math.max(seen.maxDepth, shape.chunkDepth);
          if (deleteIds.size > 0 && table.tsEnds.length > 0) seen.withDeletes++;
          if (shape.freelistPages > 0) seen.withFreelist++;
          if (shape.chunkOverflowPages > 0) seen.withOverflow++;
          seen.pageSizes.add(shape.pageSize);
        } finally {
          rmSync(join(data, '..'), { recursive: true, force: true });
        }
      }),
      { seed: settings.seed, numRuns: settings.runs(50) },
    );
  });
});

// ---------------------------------------------------------------- declines

type Expected = { summary: BackupIndexSummary } | { problem: BackupIndexProblem; message?: RegExp };

interface DeclineCase {
  name: string;
  /** The plain index this case starts from, which the pages must read (the control); none for files that never were one. */
  plain?: ChunkIndexOptions;
  /** Makes the index (and what lies beside it) not plain. */
  spoil: (index: string) => void;
  /** What readBackupIndex, now SQLite's, says. */
  expected: Expected;
}

const summary = (chunks: number, newestEnd: number | null, newestChunkId: number | null = chunks): Expected => ({
  summary: { chunks, lastBackup: newestEnd === null ? null : newestEnd * 1000, newestChunkId, dataBytes: DATA_BYTES },
});
const plainIndex: ChunkIndexOptions = { tsEnds: [T - 50, T, null, T - 10] };
const rebuiltWith = (options: Partial<ChunkIndexOptions>) => (index: string) => writeChunkIndex(index, { ...plainIndex, ...options });
const swapped = SCHEMA.replace('ts_start INTEGER, ts_end INTEGER', 'ts_end INTEGER, ts_start INTEGER');

const DECLINES: DeclineCase[] = [
  { name: 'an empty -journal file beside the index', plain: plainIndex, spoil: (i) => writeFileSync(`${i}-journal`, ''), expected: summary(4, T - 10) },
  { name: 'an empty -wal file beside the index', plain: plainIndex, spoil: (i) => writeFileSync(`${i}-wal`, ''), expected: summary(4, T - 10) },
  { name: 'an index in WAL mode (closed cleanly, no -wal file)', plain: plainIndex, spoil: rebuiltWith({ journalMode: 'wal' }), expected: summary(4, T - 10) },
  { name: 'UTF-16le text', plain: plainIndex, spoil: rebuiltWith({ encoding: 'UTF-16le' }), expected: summary(4, T - 10) },
  { name: 'UTF-16be text', plain: plainIndex, spoil: rebuiltWith({ encoding: 'UTF-16be' }), expected: summary(4, T - 10) },
  // SQLite reads ts_end by name wherever it is; the pages only where Cyrus puts it.
  { name: 'a chunk table with ts_start and ts_end swapped', plain: plainIndex, spoil: rebuiltWith({ schema: swapped }), expected: summary(4, T - 10) },
  {
    name: 'a chunk table whose id is not the rowid (PRIMARY KEY DESC)',
    plain: plainIndex,
    spoil: rebuiltWith({ schema: SCHEMA.replace('id INTEGER PRIMARY KEY ASC, ts_start', 'id INTEGER PRIMARY KEY DESC, ts_start') }),
    expected: summary(4, T - 10),
  },
  { name: 'a chunk table WITHOUT ROWID', plain: plainIndex, spoil: rebuiltWith({ schema: SCHEMA.replace(' );\nCREATE TABLE message', ' ) WITHOUT ROWID;\nCREATE TABLE message') }), expected: summary(4, T - 10) },
  { name: 'no chunk table', plain: plainIndex, spoil: rebuiltWith({ schema: MESSAGE_SQL!, tsEnds: [] }), expected: { problem: 'schema', message: /no such table: chunk/ } },
  // Only the newest chunk's end is a backup's time: a bad value there makes the user unreadable, elsewhere it is not read.
  { name: 'a ts_end stored as REAL in an older chunk', plain: plainIndex, spoil: rebuiltWith({ tsEnds: [T - 50, T + 0.5, null, T] }), expected: summary(4, T) },
  { name: "the newest chunk's ts_end stored as REAL", plain: plainIndex, spoil: rebuiltWith({ tsEnds: [T - 50, T, null, T + 0.5] }), expected: { problem: 'corrupt', message: /chunk 4's ts_end is not a time: "1795000000.5"/ } },
  { name: 'a ts_end stored as TEXT in an older chunk', plain: plainIndex, spoil: rebuiltWith({ tsEnds: [T - 50, 'soon', null, T] }), expected: summary(4, T) },
  { name: "the newest chunk's ts_end stored as TEXT", plain: plainIndex, spoil: rebuiltWith({ tsEnds: [T - 50, T, null, 'soon'] }), expected: { problem: 'corrupt', message: /chunk 4's ts_end is not a time: "soon"/ } },
  { name: "the newest chunk's ts_end beyond 2^53", plain: plainIndex, spoil: rebuiltWith({ tsEnds: [T, 2n ** 60n] }), expected: { problem: 'corrupt', message: /chunk 2's ts_end is not a time/ } },
  { name: 'a missing index', spoil: () => {}, expected: { problem: 'missing' } },
  // It opens (Linux opens a directory read-only), and the first read fails: EISDIR, a file-system error like any other.
  { name: 'a directory where the index should be', spoil: (i) => mkdirSync(i), expected: { problem: 'corrupt', message: /disk I\/O error/ } },
  { name: 'an empty index file', spoil: (i) => writeFileSync(i, ''), expected: { problem: 'schema', message: /schema version 0/ } },
  {
    name: 'an index truncated to a size that is not a whole number of pages',
    plain: { ...plainIndex, pageSize: 1024 },
    spoil: (i) => truncateSync(i, statSync(i).size - 100),
    expected: { problem: 'corrupt' },
  },
  {
    name: 'an index with bytes appended (not a whole number of pages)',
    plain: plainIndex,
    spoil: (i) => writeFileSync(i, 'x', { flag: 'a' }),
    expected: summary(4, T - 10),
  },
  { name: 'garbage bytes', spoil: (i) => writeFileSync(i, Buffer.alloc(8192, 0x41)), expected: { problem: 'corrupt', message: /not a database/ } },
  { name: 'a header cut short', spoil: (i) => writeFileSync(i, 'SQLite format 3\0'), expected: { problem: 'corrupt' } },
];

describe('what the pages decline, the public reader still reads with SQLite', () => {
  for (const c of DECLINES) {
    test(c.name, (t) => {
      const { data, index } = place();
      if (c.plain) {
        writeChunkIndex(index, c.plain);
        assertAgrees(index, data);
      }
      c.spoil(index);
      const pages = readChunkTableFromPages(index);
      assert.ok(pages instanceof NotPlainPages, `the pages were read: ${JSON.stringify(pages)}`);
      t.diagnostic(`declined: ${pages.message}`);
      let got: BackupIndexSummary | BackupIndexError;
      try {
        got = readBackupIndex(data);
      } catch (err) {
        assert.ok(err instanceof BackupIndexError, `not a BackupIndexError: ${String(err)}`);
        got = err;
      }
      if ('summary' in c.expected) {
        assert.ok(!(got instanceof BackupIndexError), `SQLite failed: ${got instanceof BackupIndexError ? got.message : ''}`);
        assert.deepEqual(got, c.expected.summary);
      } else {
        assert.ok(got instanceof BackupIndexError, `SQLite read it: ${JSON.stringify(got)}`);
        assert.equal(got.problem, c.expected.problem, got.message);
        assert.equal(got.file, index);
        if (c.expected.message) assert.match(got.message, c.expected.message);
      }
    });
  }
});
