// The chunk table and the mailbox table's live rows read from an index's pages (readIndexPages) against SQLite's own answer:
// equal on every plain rollback-journal index, whatever its page size, depth, freelist, overflow pages
// or values; and on everything else declined (NotPlainPages), where the public reader (readBackupIndex)
// still gives SQLite's summary or SQLite's typed error. Every agreement also asserts that the pages were
// read, not declined: a reader that declined everything would fail here.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { readIndexPages, type IndexPages } from '../../src/backupd/index-pages.js';
import { BackupIndexError, type BackupIndexProblem } from '../../src/backupd/index-error.js';
import { readBackupIndex, type BackupIndexSummary } from '../../src/backupd/backup-summary.js';
import { BackupServerScanner } from '../../src/backupd/scan.js';
import { NotPlainPages } from '../../src/backupd/sqlite-file/not-plain-pages.js';
import { encodeBackedUpMailboxes } from '../../src/backupd/backed-up-mailboxes.js';
import { readIndexOf } from '../../src/backupd/scan-read.js';
import { CYRUS_MAILBOXES, indexShape, sqliteChunkAnswer, writeChunkIndex, writeDataFile, type ChunkIndexOptions, type IndexShape, type TsEnd } from '../support/chunk-index.js';
import { fuzzSettings } from '../support/fuzz-settings.js';
import { SCHEMA, writeFlatBackupsDb, type SyntheticMailbox } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-chunk-pages-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const settings = fuzzSettings();

const T = 1_795_000_000;
/** Chunks the data file of a decline case holds: more than any of those cases writes. */
const DECLINE_CHUNKS = 20;
const PAGE_SIZES = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536] as const;

let places = 0;
/** A fresh data file holding `chunks` chunks (the index beside it is the test's to write). */
function place(chunks = DECLINE_CHUNKS): { data: string; index: string } {
  const data = join(dir, `u${places++}`, 'user_X');
  writeDataFile(data, chunks);
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

/** What readBackupIndex says, error or summary. */
function verdict(read: () => BackupIndexSummary): BackupIndexSummary | BackupIndexError {
  try {
    return read();
  } catch (err) {
    if (err instanceof BackupIndexError) return err;
    throw err;
  }
}

/**
 * Once SQLite has read the file (the pages are read only where SQLite has parsed the schema before), the
 * pages are read (not declined), and say what SQLite says; the public reader's verdict is SQLite's.
 */
function assertAgrees(index: string, data: string): IndexPages {
  const bySqlite = verdict(() => readBackupIndex(data, { pageReader: false }));
  const pages = readIndexPages(index);
  assert.ok(!(pages instanceof NotPlainPages), `the page reader declined a plain index: ${(pages as NotPlainPages).message}`);
  assert.deepEqual(verdict(() => readBackupIndex(data)), bySqlite);
  const sqlite = sqliteChunkAnswer(index);
  const st = statSync(index);
  assert.deepEqual({ ...pages, mailboxes: pages.mailboxes.encoded(index) }, { fingerprint: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs }, ...sqlite });
  if (sqlite.userVersion >= 3) {
    const isTime = sqlite.newestEnd !== null && sqlite.newestEnd >= 0 && sqlite.newestEnd <= 253_402_300_799;
    if (sqlite.newestId === null || isTime) {
      const lastBackup = sqlite.newestEnd === null ? null : sqlite.newestEnd * 1000;
      assert.deepEqual(readBackupIndex(data), { lastBackup, newestChunkId: sqlite.newestId, chunks: sqlite.chunks, dataBytes: statSync(data).size, mailboxes: sqlite.mailboxes });
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
/** What backup/lcb_sqlconsts.c has, before QUOTE() collapses its whitespace. */
const CYRUS_MAILBOX_CREATE_TEXT = `CREATE TABLE IF NOT EXISTS mailbox(
    id INTEGER PRIMARY KEY ASC,
    last_chunk_id INTEGER NOT NULL REFERENCES chunk(id),
    uniqueid CHAR UNIQUE NOT NULL,
    mboxname CHAR NOT NULL,
    mboxtype CHAR,
    last_uid INTEGER,
    highestmodseq INTEGER,
    recentuid INTEGER,
    recenttime INTEGER,
    last_appenddate INTEGER,
    pop3_last_login INTEGER,
    pop3_show_after INTEGER,
    uidvalidity INTEGER,
    partition CHAR,
    acl CHAR,
    options CHAR,
    sync_crc INTEGER,
    sync_crc_annot INTEGER,
    quotaroot CHAR,
    xconvmodseq INTEGER,
    annotations CHAR,
    deleted INTEGER
);`;
const GOOD_ROW: SyntheticMailbox = { name: 'user.anne', uidvalidity: 1_700_000_000, lastUid: 12, highestModseq: 40 };
/** `count` folders of one user, every fifth deleted. */
const manyMailboxes = (count: number): SyntheticMailbox[] =>
  Array.from({ length: count }, (_, i) => ({
    name: `user.anne.Folder ${i}`,
    uidvalidity: 1_700_000_000 + i,
    lastUid: (i * 7919) % 5000,
    highestModseq: 10_000 + i,
    ...(i % 5 === 4 ? { deleted: T } : {}),
  }));
/** The live ones of `mailboxes` (values valid) as the summary carries them. */
const live = (mailboxes: readonly SyntheticMailbox[]): string =>
  encodeBackedUpMailboxes(
    mailboxes
      .filter((m) => m.deleted === undefined)
      .map((m) => ({ name: m.name as string, uidvalidity: m.uidvalidity as number, lastUid: m.lastUid as number, highestModseq: m.highestModseq as number })),
  );

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
  rowsCase('3,000 chunks in 512-byte pages: a b-tree of depth 3, a schema over several pages', { pageSize: 512, tsEnds: scrambled(3000), messages: 5, mailboxes: CYRUS_MAILBOXES }, (s) => {
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
  rowsCase('the chunk table created last: its root is not page 2', { schema: [MESSAGE_SQL, MAILBOX_SQL, CHUNK_SQL].join('\n'), tsEnds: scrambled(500), messages: 3, mailboxes: CYRUS_MAILBOXES }),
  rowsCase("Cyrus's own CREATE text (IF NOT EXISTS, one column a line)", { schema: [CYRUS_CREATE_TEXT, CYRUS_MAILBOX_CREATE_TEXT].join('\n'), tsEnds: scrambled(200), mailboxes: CYRUS_MAILBOXES }),
  rowsCase('mailbox rows as Cyrus names them (a virtual domain, ^ for a dot, modified UTF-7), a deleted one left out', { tsEnds: [T], mailboxes: CYRUS_MAILBOXES }),
  rowsCase('mailbox names not copied from the page as they are: a quote, a backslash, UTF-8, a character beyond the BMP, 1000 characters', {
    tsEnds: [T],
    mailboxes: ['user.anne.say "hi"', 'user.anne.back\\slash', 'user.anne.Grüße', 'user.anne.日本語', 'user.anne.😀', `user.anne.${'ü'.repeat(990)}`, `user.${'a'.repeat(995)}`].map((name, i) => ({ ...GOOD_ROW, name, uidvalidity: 1 + i })),
  }),
  rowsCase('no mailbox row', { tsEnds: [T, T + 1] }),
  rowsCase('only deleted mailbox rows', { tsEnds: [T], mailboxes: CYRUS_MAILBOXES.map((m) => ({ ...m, deleted: T })) }),
  rowsCase('600 mailbox rows in 512-byte pages: a b-tree of depth 3', { pageSize: 512, tsEnds: [T], mailboxes: manyMailboxes(600) }, (s) => assert.ok(s.mailboxDepth >= 3, `depth ${s.mailboxDepth}`)),
  // Annotations come after every column read: the pages read the row's start, and SQLite does not follow its overflow pages either.
  rowsCase('a mailbox row whose annotations fill overflow pages', { tsEnds: [T], mailboxes: [...CYRUS_MAILBOXES, { ...CYRUS_MAILBOXES[0]!, name: 'user.big', annotationsLength: 100_000 }] }, (s) =>
    assert.ok(s.mailboxOverflowPages > 20, `overflow pages ${s.mailboxOverflowPages}`),
  ),
  {
    ...rowsCase('a column added to the chunk table after rows were written (older records are shorter)', { tsEnds: [T, T + 3, null] }),
    then: (index) => {
      const db = new Database(index);
      db.exec('ALTER TABLE chunk ADD COLUMN extra INTEGER');
      db.prepare('INSERT INTO chunk (ts_start, ts_end, offset, length, extra) VALUES (?, ?, 60, 0, 5)').run(T, T + 1);
      db.close();
    },
    model: { chunks: 4, newestId: 4, newestEnd: T + 1 },
  },
];

describe('the chunk table read from the pages agrees with SQLite on plain indexes', () => {
  for (const c of AGREEMENT) {
    test(c.name, () => {
      // One more chunk than written: room for a row a case adds.
      const { data, index } = place(c.options.tsEnds.length + 1);
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
    const { data, index } = place(101);
    writeChunkIndex(index, { tsEnds: scrambled(100) });
    const first = assertAgrees(index, data);
    const readAs = (pages: IndexPages) => ({ ...pages, mailboxes: pages.mailboxes.encoded(index) });
    assert.deepEqual(readAs(assertAgrees(index, data)), readAs(first));
    const db = new Database(index);
    db.prepare('INSERT INTO chunk (ts_start, ts_end, offset, length) VALUES (?, ?, 2000, 0)').run(T, T + 10_000);
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
        const { data, index } = place(table.tsEnds.length);
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

const anyInteger: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constantFrom(-1, 0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
);
const mailboxName = fc.stringMatching(/^(example\.com!)?user\.[a-z^]{1,10}(\.[A-Za-z0-9&,+ -]{1,20}){0,3}$/);
const mailboxRest = {
  deleted: fc.option(fc.integer({ min: 1, max: 2 ** 31 }), { nil: undefined, freq: 4 }),
  annotationsLength: fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: 20_000 })),
};
/** Mostly rows as Cyrus writes them; some with any value in any column. */
const randomMailbox: fc.Arbitrary<SyntheticMailbox> = fc.oneof(
  {
    weight: 40,
    arbitrary: fc.record({
      name: mailboxName,
      uidvalidity: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
      lastUid: fc.nat(),
      highestModseq: fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
      ...mailboxRest,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      name: fc.oneof(mailboxName, fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('', `user.${'a'.repeat(995)}`, `user.${'a'.repeat(996)}`)),
      uidvalidity: fc.oneof(fc.integer({ min: 1, max: 2 ** 32 - 1 }), anyInteger),
      lastUid: fc.oneof(fc.nat(), anyInteger),
      highestModseq: fc.oneof(fc.nat(), anyInteger),
      ...mailboxRest,
    }),
  },
);

describe('random mailbox tables', () => {
  const seen = { runs: 0, read: 0, declined: 0, unreadable: 0, maxLive: 0 };
  after(() => console.log(`# mailbox pages property: ${settings.describe()}; ${seen.runs} runs, pages read ${seen.read}, declined ${seen.declined}; ${seen.unreadable} unreadable; up to ${seen.maxLive} live rows`));

  test(`the scan's verdict is SQLite's: the same mailboxes, or the same error (${settings.describe()})`, { timeout: 300_000 }, () => {
    fc.assert(
      fc.property(fc.record({ pageSize: fc.constantFrom(...PAGE_SIZES), mailboxes: fc.array(randomMailbox, { maxLength: 60, size: 'max' }) }), ({ pageSize, mailboxes }) => {
        const { data, index } = place(1);
        try {
          writeChunkIndex(index, { pageSize, tsEnds: [T], mailboxes });
          const bySqlite = shownVerdict(() => readBackupIndex(data, { pageReader: false }));
          const pages = readIndexPages(index);
          assert.equal(shownVerdict(() => readBackupIndex(data)), bySqlite);
          seen.runs++;
          if (pages instanceof NotPlainPages) seen.declined++;
          else seen.read++;
          if (bySqlite.startsWith('corrupt: ')) seen.unreadable++;
          else seen.maxLive = Math.max(seen.maxLive, (JSON.parse((JSON.parse(bySqlite) as BackupIndexSummary).mailboxes) as unknown[]).length);
        } finally {
          rmSync(join(data, '..'), { recursive: true, force: true });
        }
      }),
      { seed: settings.seed, numRuns: settings.runs(100) },
    );
    assert.ok(seen.read > seen.runs / 2 && seen.unreadable > 0, JSON.stringify(seen));
  });
});

// ---------------------------------------------------------------- mailbox values

/** SQLite's verdict and the scan's, as text: the same error, or the same summary. */
function shownVerdict(read: () => BackupIndexSummary): string {
  const v = verdict(read);
  return v instanceof BackupIndexError ? `${v.problem}: ${v.message}` : JSON.stringify(v);
}

const GOOD = CYRUS_MAILBOXES[0]!;
const BAD: SyntheticMailbox = { name: 'user.anne.Bad', uidvalidity: 1_700_000_005, lastUid: 7, highestModseq: 70 };
/** Row 2 of three is bad in one value; `pages`: the page reader reads that value itself (rather than leave it to SQLite). */
const BAD_VALUES: Array<[string, Partial<SyntheticMailbox>, RegExp, { pages: boolean }]> = [
  ['an empty name', { name: '' }, /mailbox row 2's mboxname is not a mailbox name: "" /, { pages: true }],
  ['a name with a tab', { name: 'user.anne.a\tb' }, /mailbox row 2's mboxname is not a mailbox name: "user.anne.a\\tb" /, { pages: true }],
  ['a name with DEL', { name: 'user.anne.\u007f' }, /mailbox row 2's mboxname is not a mailbox name: "user.anne.\u007f" /, { pages: true }],
  ['a name of 1001 characters', { name: `user.${'a'.repeat(996)}` }, /mailbox row 2's mboxname is not a mailbox name: "user.a{35}"… \(1001 characters\) /, { pages: true }],
  ['uidvalidity 0', { uidvalidity: 0 }, /mailbox row 2 \("user.anne.Bad"\)'s uidvalidity is not a UIDVALIDITY \(1 to 4294967295\): 0 /, { pages: true }],
  ['uidvalidity 2^32', { uidvalidity: 2 ** 32 }, /mailbox row 2 \("user.anne.Bad"\)'s uidvalidity is not a UIDVALIDITY \(1 to 4294967295\): 4294967296 /, { pages: true }],
  ['uidvalidity NULL', { uidvalidity: null }, /mailbox row 2 \("user.anne.Bad"\)'s uidvalidity is not a UIDVALIDITY \(1 to 4294967295\): NULL /, { pages: true }],
  ['a negative last_uid', { lastUid: -1 }, /mailbox row 2 \("user.anne.Bad"\)'s last_uid is not a UID: -1 /, { pages: true }],
  ['last_uid NULL', { lastUid: null }, /mailbox row 2 \("user.anne.Bad"\)'s last_uid is not a UID: NULL /, { pages: true }],
  ['a negative highestmodseq', { highestModseq: -5 }, /mailbox row 2 \("user.anne.Bad"\)'s highestmodseq is not a modseq: -5 /, { pages: true }],
  ['highestmodseq 2^53', { highestModseq: 2n ** 53n }, /mailbox row 2 \("user.anne.Bad"\)'s highestmodseq is not a modseq: 9007199254740992 /, { pages: false }],
];

describe('a bad value in a live mailbox row makes the user unreadable, naming the row and the column', () => {
  for (const [name, bad, message, { pages: byPages }] of BAD_VALUES) {
    test(name, () => {
      const { data, index } = place(3);
      writeChunkIndex(index, { tsEnds: [T, T + 1, T + 2], mailboxes: [GOOD, { ...BAD, ...bad }, CYRUS_MAILBOXES[1]!] });
      const bySqlite = verdict(() => readBackupIndex(data, { pageReader: false }));
      assert.ok(bySqlite instanceof BackupIndexError, `SQLite's read: ${JSON.stringify(bySqlite)}`);
      assert.equal(bySqlite.problem, 'corrupt');
      assert.equal(bySqlite.file, index);
      assert.match(bySqlite.message, message);
      const pages = readIndexPages(index);
      assert.equal(!(pages instanceof NotPlainPages), byPages, pages instanceof NotPlainPages ? `declined: ${pages.message}` : 'the pages were read');
      assert.equal(shownVerdict(() => readBackupIndex(data)), shownVerdict(() => readBackupIndex(data, { pageReader: false })));
      const scanned = readIndexOf(data);
      assert.equal(scanned.error?.message, bySqlite.message);
    });
  }

  test('the same values in deleted rows are not read', () => {
    const { data, index } = place(1);
    const deleted = BAD_VALUES.map(([, bad], i) => ({ ...BAD, name: `user.anne.Bad${i}`, ...bad, deleted: T }));
    writeChunkIndex(index, { tsEnds: [T], mailboxes: [GOOD, ...deleted] });
    assertAgrees(index, data);
    assert.equal(readBackupIndex(data).mailboxes, live([GOOD]));
  });

  for (const name of ['user.anne.Bad', 'user.anne.say "hi"', 'user.anne.Grüße']) {
    test(`two live rows of one name: corrupt (${name})`, () => {
      const { data, index } = place(1);
      writeChunkIndex(index, { tsEnds: [T], mailboxes: [GOOD, { ...BAD, name }, CYRUS_MAILBOXES[1]!, { ...BAD, name, uidvalidity: 1_800_000_000 }] });
      // SQLite first: the pages are read once it has read the schema.
      for (const pageReader of [false, true]) {
        assert.throws(
          () => readBackupIndex(data, { pageReader }),
          (err: unknown) => err instanceof BackupIndexError && err.message.includes(`mailbox rows 2 and 4 are both named ${JSON.stringify(name)}, and neither is deleted`),
        );
      }
      assert.ok(!(readIndexPages(index) instanceof NotPlainPages));
    });
  }

  test('a folder deleted and made again under its name: the deleted row is left out, the new one read', () => {
    const { data, index } = place(1);
    const recreated = { ...BAD, uidvalidity: 1_800_000_000 };
    writeChunkIndex(index, { tsEnds: [T], mailboxes: [GOOD, { ...BAD, deleted: T }, recreated] });
    assertAgrees(index, data);
    assert.equal(readBackupIndex(data).mailboxes, live([GOOD, recreated]));
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

const summary = (chunks: number, newestEnd: number | null, newestChunkId: number | null = chunks, mailboxes = live(CYRUS_MAILBOXES)): Expected => ({
  summary: { chunks, lastBackup: newestEnd === null ? null : newestEnd * 1000, newestChunkId, dataBytes: 20 * DECLINE_CHUNKS, mailboxes },
});
const plainIndex: ChunkIndexOptions = { tsEnds: [T - 50, T, null, T - 10], mailboxes: CYRUS_MAILBOXES };
const rebuiltWith = (options: Partial<ChunkIndexOptions>) => (index: string) => writeChunkIndex(index, { ...plainIndex, ...options });
const swapped = SCHEMA.replace('ts_start INTEGER, ts_end INTEGER', 'ts_end INTEGER, ts_start INTEGER');
/** A folder whose name runs past a 512-byte page's local part of its row. */
const LONG_NAME: SyntheticMailbox = { name: `user.anne.${'Ordner '.repeat(70)}Ende`, uidvalidity: 1_700_000_000, lastUid: 5, highestModseq: 9 };

/** Rewrites one value of mailbox row 1 with SQL, as no insert of a JS value can write it. */
const rowOneSet = (assignment: string) => (index: string) => {
  writeChunkIndex(index, plainIndex);
  const db = new Database(index);
  db.exec(`UPDATE mailbox SET ${assignment} WHERE id = 1`);
  db.close();
};
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
  { name: 'no chunk table', plain: plainIndex, spoil: rebuiltWith({ schema: MESSAGE_SQL!, tsEnds: [], mailboxes: [] }), expected: { problem: 'schema', message: /no such table: chunk/ } },
  { name: 'no mailbox table', plain: plainIndex, spoil: rebuiltWith({ schema: [CHUNK_SQL, MESSAGE_SQL].join('\n'), mailboxes: [] }), expected: { problem: 'schema', message: /no such table: mailbox/ } },
  // SQLite reads the mailbox columns by name wherever they are; the pages only in Cyrus's table.
  { name: 'a mailbox table with mboxname and mboxtype swapped', plain: plainIndex, spoil: rebuiltWith({ schema: SCHEMA.replace('mboxname CHAR NOT NULL, mboxtype CHAR', 'mboxtype CHAR, mboxname CHAR NOT NULL') }), expected: summary(4, T - 10) },
  { name: 'a mailbox table with a column more', plain: plainIndex, spoil: rebuiltWith({ schema: SCHEMA.replace('deleted INTEGER )', 'deleted INTEGER, extra CHAR )') }), expected: summary(4, T - 10) },
  {
    name: 'a mailbox name that continues on an overflow page (512-byte pages)',
    plain: { ...plainIndex, pageSize: 512 },
    spoil: rebuiltWith({ pageSize: 512, mailboxes: [...CYRUS_MAILBOXES, LONG_NAME] }),
    expected: summary(4, T - 10, 4, live([...CYRUS_MAILBOXES, LONG_NAME])),
  },
  {
    name: 'a mailbox name that is not UTF-8 (SQLite gives U+FFFD for its byte)',
    plain: plainIndex,
    spoil: rowOneSet("mboxname = CAST(X'757365722E616E6E65FF' AS TEXT)"),
    expected: summary(4, T - 10, 4, live([{ ...CYRUS_MAILBOXES[0]!, name: 'user.anne\uFFFD' }, ...CYRUS_MAILBOXES.slice(1)])),
  },
  { name: 'a mailbox name stored as a BLOB', plain: plainIndex, spoil: rowOneSet("mboxname = X'75736572'"), expected: { problem: 'corrupt', message: /mailbox row 1's mboxname is not a mailbox name: a BLOB of 4 bytes/ } },
  { name: 'a uidvalidity stored as TEXT', plain: plainIndex, spoil: rowOneSet("uidvalidity = 'soon'"), expected: { problem: 'corrupt', message: /mailbox row 1 \("example.com!user.anne\^smith"\)'s uidvalidity is not a UIDVALIDITY \(1 to 4294967295\): "soon"/ } },
  { name: 'a last_uid stored as REAL', plain: plainIndex, spoil: rowOneSet('last_uid = 2.5'), expected: { problem: 'corrupt', message: /mailbox row 1 \(".*"\)'s last_uid is not a UID: 2.5 / } },
  // The pages read integers up to 2^53; SQLite's read shows the value as stored.
  { name: 'a highestmodseq beyond 2^53', plain: plainIndex, spoil: rowOneSet('highestmodseq = 9223372036854775807'), expected: { problem: 'corrupt', message: /mailbox row 1 \(".*"\)'s highestmodseq is not a modseq: 9223372036854775807 / } },
  // Only the newest chunk's end is a backup's time: a bad value there makes the user unreadable, elsewhere it is not read.
  { name: 'a ts_end stored as REAL in an older chunk', plain: plainIndex, spoil: rebuiltWith({ tsEnds: [T - 50, T + 0.5, null, T] }), expected: summary(4, T) },
  { name: "the newest chunk's ts_end stored as REAL", plain: plainIndex, spoil: rebuiltWith({ tsEnds: [T - 50, T, null, T + 0.5] }), expected: { problem: 'corrupt', message: /chunk 4's ts_end is not a time: "1795000000.5"/ } },
  { name: 'a ts_end stored as TEXT in an older chunk', plain: plainIndex, spoil: rebuiltWith({ tsEnds: [T - 50, 'soon', null, T] }), expected: summary(4, T) },
  { name: "the newest chunk's ts_end stored as TEXT", plain: plainIndex, spoil: rebuiltWith({ tsEnds: [T - 50, T, null, 'soon'] }), expected: { problem: 'corrupt', message: /chunk 4's ts_end is not a time: "soon"/ } },
  { name: "the newest chunk's ts_end beyond 2^53", plain: plainIndex, spoil: rebuiltWith({ tsEnds: [T, 2n ** 60n] }), expected: { problem: 'corrupt', message: /chunk 2's ts_end is not a time/ } },
  { name: 'a missing index', spoil: () => {}, expected: { problem: 'missing' } },
  // It opens (Linux opens a directory read-only), and the first read fails: EISDIR, a file-system error like any other.
  { name: 'a directory where the index should be', spoil: (i) => mkdirSync(i), expected: { problem: 'corrupt', message: /disk I\/O error/ } },
  { name: 'an empty index file', spoil: (i) => writeFileSync(i, ''), expected: { problem: 'schema', message: /is empty: this backup has lost its index; `ctl_backups reindex <userid>`/ } },
  {
    name: 'an index truncated to a size that is not a whole number of pages',
    plain: { ...plainIndex, pageSize: 1024, mailboxes: [] },
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
      const pages = readIndexPages(index);
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

// ---------------------------------------------------------------- what SQLite refuses

/** Rewrites schema rows as only a damaged file has them (writable_schema; the schema cookie is left as it was). */
function editSchema(index: string, ...statements: string[]): void {
  const db = new Database(index);
  try {
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    for (const statement of statements) db.exec(statement);
  } finally {
    db.close();
  }
}

/** Overwrites bytes of the database header, as damage would. */
const patchHeader = (at: number, bytes: number[]) => (index: string) => {
  const db = readFileSync(index);
  Buffer.from(bytes).copy(db, at);
  writeFileSync(index, db);
};

/** SQLite's own error on the file, as the summary's query meets it; null when it reads the file. */
function sqliteRefusal(index: string): string | null {
  try {
    sqliteChunkAnswer(index);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Damage that leaves the chunk table's own pages and schema row as they were, so a reader of the chunk
 * table alone still finds a plausible summary; SQLite, which parses the whole schema before any query,
 * refuses the file, and so do `ctl_backups` and backupd.
 */
const REFUSED: Array<[string, (index: string) => void, ChunkIndexOptions?]> = [
  ["another table's CREATE text made invalid SQL", (i) => editSchema(i, "UPDATE sqlite_schema SET sql = replace(sql, 'NOT NULL', 'NOT NULL,,') WHERE name = 'message'")],
  ['a schema row whose sql is garbage', (i) => editSchema(i, "UPDATE sqlite_schema SET sql = 'garbage' WHERE name = 'mailbox'")],
  ['a schema row of an unknown type', (i) => editSchema(i, "UPDATE sqlite_schema SET type = 'tabel' WHERE name = 'message'")],
  ['a duplicate table name', (i) => editSchema(i, "INSERT INTO sqlite_schema VALUES ('table', 'mailbox', 'mailbox', 2, 'CREATE TABLE mailbox (x)')")],
  ['an index on a table that does not exist', (i) => editSchema(i, "INSERT INTO sqlite_schema VALUES ('index', 'by_x', 'nosuch', 3, 'CREATE INDEX by_x ON nosuch (x)')")],
  ['an automatic index whose table is gone (orphan)', (i) => editSchema(i, "UPDATE sqlite_schema SET name = 'sqlite_autoindex_nosuch_1' WHERE name = 'sqlite_autoindex_message_1'")],
  ["a truncated CREATE text (another table's)", (i) => editSchema(i, "UPDATE sqlite_schema SET sql = substr(sql, 1, length(sql) / 2) WHERE name = 'mailbox'")],
  ["the chunk table's own CREATE text invalid past the columns the page reader knows", (i) => editSchema(i, "UPDATE sqlite_schema SET sql = replace(sql, 'data_sha1 TEXT', 'data_sha1 TEXT,,') WHERE name = 'chunk'")],
  ["another table's root page beyond the end of the file", (i) => editSchema(i, "UPDATE sqlite_schema SET rootpage = 100000 WHERE name = 'message'")],
  ["an automatic index's root page 1", (i) => editSchema(i, "UPDATE sqlite_schema SET rootpage = 1 WHERE name = 'sqlite_autoindex_chunk_1'")],
  ['the header: a read version SQLite does not know', patchHeader(19, [3])],
  ['the header: schema format 5', patchHeader(44, [0, 0, 0, 5])],
  ['the header: so many reserved bytes that fewer than 480 are left per page', patchHeader(20, [40]), { ...plainIndex, pageSize: 512 }],
  ['the header: other payload fractions', patchHeader(21, [63])],
  ['the header: a page size that is not a power of two', patchHeader(16, [0x0f, 0xff])],
];

describe('a file SQLite refuses is unreadable, whatever its chunk table says', () => {
  for (const [name, damage, plain = plainIndex] of REFUSED) {
    test(name, async () => {
      const { data, index } = place();
      writeChunkIndex(index, plain);
      assertAgrees(index, data);
      damage(index);
      const refusal = sqliteRefusal(index);
      assert.ok(refusal !== null, 'SQLite reads the damaged file: the case does not damage what it says');
      assert.throws(() => readBackupIndex(data), (err: unknown) => {
        assert.ok(err instanceof BackupIndexError, String(err));
        assert.equal(err.file, index);
        assert.ok(err.message.includes(refusal), `${err.message} does not say SQLite's ${refusal}`);
        return true;
      });
      const backupsDb = join(dir, `refused-${places}.db`);
      writeFlatBackupsDb(backupsDb, [['damaged', data]]);
      const [entry] = (await new BackupServerScanner({ backupsDb, backupsDbFormat: 'flat' }).scan()).entries;
      assert.equal(entry!.index, null, `the scan read ${JSON.stringify(entry!.index)}`);
      assert.ok(entry!.error?.message.includes(refusal), entry!.error?.message);
    });
  }

  test("schema rows SQLite accepted in one file are refused in a file too short for their root pages", () => {
    // The same rows in both files; only the page count differs, and SQLite checks root pages against it.
    const table = "INSERT INTO sqlite_schema VALUES ('table', 'far', 'far', 40, 'CREATE TABLE far (x)')";
    const long = place(400);
    writeChunkIndex(long.index, { pageSize: 512, tsEnds: range(400, (i) => T + i) });
    editSchema(long.index, table);
    const short = place();
    writeChunkIndex(short.index, { pageSize: 512, tsEnds: [T] });
    editSchema(short.index, table);
    assert.equal(sqliteRefusal(long.index), null);
    assert.equal(readBackupIndex(long.data).chunks, 400);
    assert.ok(!(readIndexPages(long.index) instanceof NotPlainPages), 'the schema SQLite read is read from the pages');
    const refusal = sqliteRefusal(short.index);
    assert.match(refusal ?? '', /invalid rootpage/);
    assert.ok(readIndexPages(short.index) instanceof NotPlainPages);
    assert.throws(() => readBackupIndex(short.data), (err: unknown) => err instanceof BackupIndexError && err.message.includes(refusal!));
  });
});
