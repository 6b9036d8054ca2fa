// Fuzz of the page reader (readIndexPages) with damaged copies of small, valid backup indexes:
// bit flips, byte overwrites, truncation at any offset, hostile values in the b-trees' page and cell
// pointers and the header's counts, pages copied over others, random pages; the mailbox table's pages and
// rows are damaged as the chunk table's are. Properties: it never throws,
// whatever the bytes (a result or NotPlainPages), and a result is well-formed; readIndexOf, the scan's
// reader, never throws either (a summary or a BackupIndexError); and wherever the pages were read, the
// scan's whole verdict is SQLite's on the same bytes (readBackupIndex with the pages left out): the same
// error, or the same chunks, newest chunk and last backup. A hang cannot be asserted in-process: the
// slowest read is printed.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { readIndexPages, type IndexPages } from '../../src/backupd/index-pages.js';
import { BackupIndexError } from '../../src/backupd/index-error.js';
import { readIndexOf } from '../../src/backupd/scan-read.js';
import { readBackupIndex, type BackupIndexSummary } from '../../src/backupd/backup-summary.js';
import { NotPlainPages } from '../../src/backupd/sqlite-file/not-plain-pages.js';
import { CYRUS_MAILBOXES, sqliteChunkAnswer, writeChunkIndex, writeDataFile, type ChunkIndexOptions } from '../support/chunk-index.js';
import { fuzzSettings } from '../support/fuzz-settings.js';

const settings = fuzzSettings();
const dir = mkdtempSync(join(tmpdir(), 'xbs-chunk-pages-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T = 1_795_000_000;
/** Chunks the data file holds: as many as the largest base has. */
const DATA_CHUNKS = 300;

// ---------------------------------------------------------------- the valid indexes

interface PointerSite {
  /** Byte offset in the file. */
  at: number;
  width: 2 | 4;
  what: string;
}

interface Base {
  name: string;
  bytes: Buffer;
  pageSize: number;
  pageCount: number;
  sites: PointerSite[];
}

const scrambled = (n: number) => Array.from({ length: n }, (_, i) => (i % 9 === 4 ? null : T + ((i * 37) % n)));
/** Cyrus's folders and `count` more, every third deleted, every seventh with annotations over a 1024-byte page. */
const mailboxes = (count: number) => [
  ...CYRUS_MAILBOXES,
  ...Array.from({ length: count }, (_, i) => ({
    name: `example.com!user.anne^smith.F${i}`,
    uidvalidity: 1_700_000_000 + i,
    lastUid: i * 13,
    highestModseq: 500 + i,
    ...(i % 3 === 2 ? { deleted: T } : {}),
    ...(i % 7 === 3 ? { annotationsLength: 1500 } : {}),
  })),
];
const BASES: Array<[string, ChunkIndexOptions]> = [
  // Depth 2, and a schema table over several pages (Cyrus's CREATE TABLE mailbox overflows a 512-byte page); a mailbox table of depth 2.
  ['512-byte pages, 150 chunks, 40 mailboxes', { pageSize: 512, tsEnds: scrambled(150), messages: 4, mailboxes: mailboxes(35) }],
  ['1024-byte pages, overflow records, freelist', { pageSize: 1024, sha1Length: 600, tsEnds: scrambled(60), deleteIds: [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30] }],
  ['512-byte pages, auto_vacuum=FULL, rows deleted', { pageSize: 512, autoVacuum: 'full', tsEnds: scrambled(120), deleteIds: [40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50] }],
  ['4096-byte pages, 300 chunks, 20 mailboxes', { tsEnds: scrambled(300), mailboxes: mailboxes(15) }],
];
const bases: Base[] = [];

function varint(buf: Buffer, pos: number): [value: number, length: number] {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = buf[pos + i]!;
    value = value * 128 + (byte & 0x7f);
    if (byte < 0x80) return [value, i + 1];
  }
  return [value * 256 + buf[pos + 8]!, 9];
}

/** Where the b-trees keep page numbers and cell offsets: the page pointers of interior pages, cell pointers, overflow pointers, header counts. */
function pointerSites(bytes: Buffer, pageSize: number): PointerSite[] {
  const sites: PointerSite[] = [
    { at: 16, width: 2, what: 'header page size' },
    { at: 28, width: 4, what: 'header page count' },
    { at: 32, width: 4, what: 'header first freelist trunk' },
    { at: 36, width: 4, what: 'header freelist count' },
    { at: 52, width: 4, what: 'header largest root (auto-vacuum)' },
    { at: 92, width: 4, what: 'header version-valid-for' },
  ];
  const usable = pageSize - bytes[20]!;
  for (let pgno = 1; pgno * pageSize <= bytes.length; pgno++) {
    const base = (pgno - 1) * pageSize;
    const h = base + (pgno === 1 ? 100 : 0);
    const kind = bytes[h]!;
    if (![2, 5, 10, 13].includes(kind)) continue;
    const interior = kind === 2 || kind === 5;
    const cells = bytes.readUInt16BE(h + 3);
    const pointers = h + (interior ? 12 : 8);
    sites.push({ at: h + 5, width: 2, what: `page ${pgno} content start` });
    if (interior) sites.push({ at: h + 8, width: 4, what: `page ${pgno} right child` });
    for (let i = 0; i < cells; i++) {
      sites.push({ at: pointers + 2 * i, width: 2, what: `page ${pgno} cell pointer ${i}` });
      const cell = base + bytes.readUInt16BE(pointers + 2 * i);
      if (interior) sites.push({ at: cell, width: 4, what: `page ${pgno} cell ${i} left child` });
      if (kind === 13) {
        const [payload, a] = varint(bytes, cell);
        const [, b] = varint(bytes, cell + a);
        const maxLocal = usable - 35;
        const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
        const k = minLocal + ((payload - minLocal) % (usable - 4));
        const local = payload <= maxLocal ? payload : k <= maxLocal ? k : minLocal;
        if (local < payload) sites.push({ at: cell + a + b + local, width: 4, what: `page ${pgno} cell ${i} overflow page` });
      }
    }
  }
  return sites;
}

/** Where the schema row of table `name` keeps its root page number (a 1- or 2-byte integer in small files). */
function schemaRootSite(bytes: Buffer, pageSize: number, name: string): { at: number; width: 1 | 2 } {
  for (let pgno = 1; pgno * pageSize <= bytes.length; pgno++) {
    const base = (pgno - 1) * pageSize;
    const h = base + (pgno === 1 ? 100 : 0);
    if (bytes[h] !== 13) continue;
    for (let i = 0; i < bytes.readUInt16BE(h + 3); i++) {
      let pos = base + bytes.readUInt16BE(h + 8 + 2 * i);
      pos += varint(bytes, pos)[1]; // payload size
      pos += varint(bytes, pos)[1]; // rowid
      const [headerSize] = varint(bytes, pos);
      const types: number[] = [];
      for (let p = pos + varint(bytes, pos)[1]; p < pos + headerSize && types.length < 4; ) {
        const [type, length] = varint(bytes, p);
        types.push(type);
        p += length;
      }
      const sizes = types.map((t) => (t >= 13 ? (t - 13) / 2 : t));
      const type = bytes.toString('latin1', pos + headerSize, pos + headerSize + sizes[0]!);
      const table = bytes.toString('latin1', pos + headerSize + sizes[0]!, pos + headerSize + sizes[0]! + sizes[1]!);
      if (type === 'table' && table === name && (types[3] === 1 || types[3] === 2)) {
        return { at: pos + headerSize + sizes[0]! + sizes[1]! + sizes[2]!, width: types[3] as 1 | 2 };
      }
    }
  }
  throw new Error(`no schema row for ${name}`);
}

/** The root page of every table and index, as SQLite reads the schema. */
function schemaRoots(base: Base): Map<string, number> {
  const file = join(dir, 'roots.index');
  writeFileSync(file, base.bytes);
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0').all() as Array<{ name: string; rootpage: number }>;
    return new Map(rows.map((r) => [r.name, r.rootpage]));
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- mutations

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'overwrite'; at: number; bytes: Uint8Array }
  | { op: 'truncate'; at: number }
  | { op: 'pointer'; site: number; value: number | 'self' | 'last' | 'beyond' | 'randomPage'; random: number }
  | { op: 'copyPage'; from: number; to: number }
  | { op: 'randomPage'; page: number; bytes: Uint8Array };

const position = fc.nat({ max: 0x7fffffff });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('overwrite' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('overwrite' as const), at: position, bytes: fc.constantFrom(...[1, 2, 4, 8].flatMap((n) => [new Uint8Array(n), new Uint8Array(n).fill(0xff)])) }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
  {
    arbitrary: fc.record({
      op: fc.constant('pointer' as const),
      site: fc.nat(),
      value: fc.oneof(fc.constantFrom(0, 1, 2, 3, 99, 100, 0x7fff, 0xffff, 0x7fffffff, 0xffffffff, 'self' as const, 'last' as const, 'beyond' as const, 'randomPage' as const), fc.nat({ max: 0xffffffff })),
      random: fc.nat(),
    }),
    weight: 4,
  },
  fc.record({ op: fc.constant('copyPage' as const), from: fc.nat(), to: fc.nat() }),
  fc.record({ op: fc.constant('randomPage' as const), page: fc.nat(), bytes: fc.uint8Array({ minLength: 16, maxLength: 64 }) }),
);

function pointerValue(m: Extract<Mutation, { op: 'pointer' }>, site: PointerSite, base: Base): number {
  const page = Math.floor(site.at / base.pageSize) + 1;
  const value =
    m.value === 'self' ? page : m.value === 'last' ? base.pageCount : m.value === 'beyond' ? base.pageCount + 1 : m.value === 'randomPage' ? 1 + (m.random % base.pageCount) : m.value;
  return site.width === 2 ? value % 0x10000 : value >>> 0;
}

function mutate(base: Base, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(base.bytes);
  for (const m of mutations) {
    if (bytes.length === 0) break;
    switch (m.op) {
      case 'flip':
        bytes[m.at % bytes.length]! ^= 1 << m.bit;
        break;
      case 'overwrite':
        Buffer.from(m.bytes).copy(bytes, m.at % bytes.length);
        break;
      case 'truncate':
        bytes = bytes.subarray(0, m.at % (bytes.length + 1));
        break;
      case 'pointer': {
        const site = base.sites[m.site % base.sites.length]!;
        if (site.at + site.width > bytes.length) break;
        const value = pointerValue(m, site, base);
        if (site.width === 2) bytes.writeUInt16BE(value, site.at);
        else bytes.writeUInt32BE(value, site.at);
        break;
      }
      case 'copyPage': {
        const pages = Math.floor(bytes.length / base.pageSize);
        if (pages < 2) break;
        const from = m.from % pages;
        const to = 1 + (m.to % (pages - 1)); // not page 1: its header would change the page size
        bytes.copy(bytes, to * base.pageSize, from * base.pageSize + (from === 0 ? 100 : 0), (from + 1) * base.pageSize);
        break;
      }
      case 'randomPage': {
        const pages = Math.floor(bytes.length / base.pageSize);
        const page = m.page % pages;
        const random = Buffer.alloc(base.pageSize);
        for (let i = 0; i < random.length; i++) random[i] = m.bytes[i % m.bytes.length]! ^ (i * 131);
        random.copy(bytes, page * base.pageSize + (page === 0 ? 100 : 0), page === 0 ? 100 : 0);
        break;
      }
    }
  }
  return bytes;
}

interface FuzzCase {
  origin: string;
  bytes: Buffer;
}

function fuzzCase(origin: string, bytes: Buffer): FuzzCase {
  return { origin, bytes, [fc.toStringMethod]: () => `${origin} (${bytes.length} bytes)` } as FuzzCase;
}

const describeMutation = (base: Base, m: Mutation): string =>
  m.op === 'pointer'
    ? `pointer ${base.sites[m.site % base.sites.length]!.what} := ${pointerValue(m, base.sites[m.site % base.sites.length]!, base)}`
    : JSON.stringify(m, (_, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));

const damaged: fc.Arbitrary<FuzzCase> = fc
  .record({ base: fc.nat(), mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }) })
  .map(({ base: b, mutations }) => {
    const base = bases[b % bases.length]!;
    return fuzzCase(`${base.name}: ${mutations.map((m) => describeMutation(base, m)).join('; ')}`, mutate(base, mutations));
  });

// ---------------------------------------------------------------- the property

let slowest = { ms: 0, origin: '' };
/** How the page reads ended: a result, or the reason they were declined (numbers left out). */
const outcomes = new Map<string, number>();
/** Where the pages were read: SQLite's verdict on the same bytes, which the scan's must equal. */
const versusSqlite = new Map<string, number>();
/** Files checked, by every test of the file. */
let run = 0;
const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

const data = join(dir, 'user_X');
const index = `${data}.index`;
let dataBytes = 0;

function check(input: FuzzCase): void {
  run++;
  try {
    writeFileSync(index, input.bytes);
    const st = statSync(index);

    const started = process.hrtime.bigint();
    let pages: IndexPages | NotPlainPages;
    try {
      pages = readIndexPages(index);
    } catch (err) {
      assert.fail(`readIndexPages threw ${(err as Error)?.name} on ${input.origin}: ${(err as Error)?.stack ?? String(err)}`);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (ms > slowest.ms) slowest = { ms, origin: input.origin };

    if (pages instanceof NotPlainPages) {
      count(outcomes, `declined: ${pages.message.replace(/\d+/g, 'N')}`);
    } else {
      count(outcomes, 'read');
      assert.deepEqual(pages.fingerprint, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs }, input.origin);
      assert.ok(Number.isSafeInteger(pages.userVersion), `user_version ${pages.userVersion}`);
      assert.ok(Number.isSafeInteger(pages.chunks) && pages.chunks >= 0 && pages.chunks <= input.bytes.length / 2, `${pages.chunks} chunks from ${input.bytes.length} bytes (${input.origin})`);
      assert.ok(pages.newestEnd === null || Number.isSafeInteger(pages.newestEnd), `newest end ${pages.newestEnd} (${input.origin})`);
      assert.ok(pages.chunks > 0 || pages.newestId === null, `a newest chunk without chunks (${input.origin})`);
    }

    let read: ReturnType<typeof readIndexOf>;
    try {
      read = readIndexOf(data);
    } catch (err) {
      assert.fail(`readIndexOf threw ${(err as Error)?.name} on ${input.origin}: ${(err as Error)?.stack ?? String(err)}`);
    }
    if (read.error === null) {
      assert.ok(read.summary && Number.isSafeInteger(read.summary.chunks), input.origin);
      assert.equal(read.summary.dataBytes, dataBytes);
    } else {
      assert.ok(read.error instanceof BackupIndexError && read.summary === null, input.origin);
    }
    if (!(pages instanceof NotPlainPages)) {
      // What the pages read is what the scan reports (user_version ≥ 3), with the fingerprint they were read with.
      if (read.error === null) assert.deepEqual(read.fingerprint?.index, pages.fingerprint);
      if (pages.userVersion >= 3 && read.error === null) {
        const summary = { lastBackup: pages.newestEnd === null ? null : pages.newestEnd * 1000, newestChunkId: pages.newestId, chunks: pages.chunks, dataBytes, mailboxes: pages.mailboxes.encoded(index) };
        assert.deepEqual(read.summary, summary);
      }
    }
    // Where SQLite read the file the scan's verdict is SQLite's by construction; elsewhere it must be the same.
    if (!read.bySqlite) compareWithSqlite(read, input);
  } finally {
    // SQLite may have left these beside a file it took for a WAL database.
    for (const suffix of ['-journal', '-wal', '-shm']) rmSync(`${index}${suffix}`, { force: true });
  }
}

/** SQLite's verdict on the file: readBackupIndex told that the pages were not read. */
function sqliteVerdict(): BackupIndexSummary | BackupIndexError {
  try {
    return readBackupIndex(data, { pageReader: false });
  } catch (err) {
    if (err instanceof BackupIndexError) return err;
    throw err;
  }
}

function compareWithSqlite(read: ReturnType<typeof readIndexOf>, input: FuzzCase): void {
  const sqlite = sqliteVerdict();
  const ours = read.error ?? read.summary;
  const shown = (v: BackupIndexSummary | BackupIndexError) => (v instanceof BackupIndexError ? `${v.problem}: ${v.message}` : JSON.stringify(v));
  if (sqlite instanceof BackupIndexError) {
    assert.ok(ours instanceof BackupIndexError && ours.problem === sqlite.problem && ours.message === sqlite.message, `${input.origin}: the scan says ${shown(ours)}, SQLite ${shown(sqlite)}`);
    count(versusSqlite, `the same error (${sqlite.problem})`);
  } else {
    assert.deepEqual(ours, sqlite, `${input.origin}: the scan says ${shown(ours)}, SQLite ${shown(sqlite)}`);
    count(versusSqlite, 'the same summary');
  }
}

// ---------------------------------------------------------------- tests

describe('the page reader on damaged indexes', () => {
  before(() => {
    dataBytes = writeDataFile(data, DATA_CHUNKS);
    for (const [name, options] of BASES) {
      const baseData = join(dir, `base-${bases.length}`);
      const file = `${baseData}.index`;
      writeChunkIndex(file, options);
      const bytes = readFileSync(file);
      const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
      const base: Base = { name, bytes, pageSize, pageCount: bytes.length / pageSize, sites: pointerSites(bytes, pageSize) };
      // Once SQLite has read its schema, each undamaged base is read from the pages, and agrees with SQLite: the damage starts from a plain file.
      writeDataFile(baseData, DATA_CHUNKS);
      readBackupIndex(baseData);
      const pages = readIndexPages(file);
      assert.ok(!(pages instanceof NotPlainPages), `${name}: declined (${(pages as NotPlainPages).message})`);
      const { fingerprint: _, ...answer } = pages;
      assert.deepEqual({ ...answer, mailboxes: pages.mailboxes.encoded(file) }, sqliteChunkAnswer(file));
      assert.ok(base.sites.some((s) => /left child/.test(s.what)) && base.sites.some((s) => /right child/.test(s.what)), `${name}: interior pages`);
      bases.push(base);
    }
    assert.ok(bases.some((b) => b.sites.some((s) => /overflow page/.test(s.what))), 'a base with overflow pages');
  });
  after(() => {
    const list = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    console.log(`# chunk pages fuzz: ${settings.describe()}; ${run} files; slowest read ${slowest.ms.toFixed(2)} ms (${slowest.origin.slice(0, 300)})`);
    console.log(`# outcomes: ${list(outcomes)}`);
    console.log(`# where the pages were read, SQLite's verdict on the same bytes: ${list(versusSqlite)}`);
  });

  test(`damaged indexes: a result or NotPlainPages, and readIndexOf a summary or a BackupIndexError, never a throw (${settings.describe()})`, { timeout: 300_000 }, (t) => {
    t.diagnostic(settings.describe());
    fc.assert(fc.property(damaged, check), { seed: settings.seed, numRuns: settings.runs(2000) });
  });

  test('truncations (each byte of the header, a stride beyond, each whole number of pages): a result or NotPlainPages, never a throw', { timeout: 300_000 }, () => {
    for (const base of bases) {
      // Every byte of the header and a stride beyond (any cut there is not a whole number of pages), then every whole number of pages.
      for (let at = 0; at <= base.bytes.length; at += at < 128 ? 1 : 97) {
        check(fuzzCase(`${base.name} cut at ${at}`, base.bytes.subarray(0, at)));
      }
      for (let pages = 0; pages <= base.pageCount; pages++) check(fuzzCase(`${base.name} cut to ${pages} pages`, base.bytes.subarray(0, pages * base.pageSize)));
    }
  });

  test('every pointer site set to each hostile value', { timeout: 300_000 }, () => {
    for (const base of bases) {
      for (let site = 0; site < base.sites.length; site++) {
        // Of the many cell pointers, the first and every 16th (the random damage above reaches the others).
        if (/cell pointer (\d+)$/.test(base.sites[site]!.what) && Number(/(\d+)$/.exec(base.sites[site]!.what)![1]) % 16 !== 0) continue;
        for (const value of [0, 1, 2, 'self', 'last', 'beyond', 0xffff, 0xffffffff] as const) {
          const m: Mutation = { op: 'pointer', site, value, random: 0 };
          check(fuzzCase(`${base.name}: ${describeMutation(base, m)}`, mutate(base, [m])));
        }
      }
    }
  });

  test("the chunk and mailbox tables' root pages in the schema pointing elsewhere: another table's, an index's, page 1, beyond the file", () => {
    for (const base of bases) {
      for (const table of ['chunk', 'mailbox']) {
        const site = schemaRootSite(base.bytes, base.pageSize, table);
        const roots = schemaRoots(base);
        for (const root of [0, 1, ...roots.values(), base.pageCount, base.pageCount + 1, -1]) {
          if (Math.abs(root) >= 2 ** (8 * site.width - 1)) continue;
          const bytes = Buffer.from(base.bytes);
          bytes.writeIntBE(root, site.at, site.width);
          const name = [...roots].find(([, page]) => page === root)?.[0];
          check(fuzzCase(`${base.name}: ${table} rooted at ${root}${name ? ` (${name}'s root)` : ''}`, bytes));
        }
      }
    }
  });
});

describe('found by this fuzz', () => {
  // SQLite calls any b-tree page reached from a parent with no cells corrupt (btree.c, getAndInitPage:
  // "nCell<1"), and so reads none of such a file. The page reader walked past such a page and counted
  // the chunks of the other pages: a plausible, wrong summary instead of 'corrupt'. Such a page is what
  // a damaged cell count, or an empty page written over a full one, leaves.
  const cases: Array<[string, ChunkIndexOptions, 'leaf' | 'internal', (bytes: Buffer, page: number, pageSize: number, emptyLeaf: number) => void]> = [
    ['a chunk leaf whose cell count is 0', { pageSize: 512, tsEnds: scrambled(150) }, 'leaf', (b, page, size) => b.writeUInt16BE(0, (page - 1) * size + 3)],
    [
      'an empty table leaf (the mailbox table\'s root) written over a chunk leaf',
      { pageSize: 512, tsEnds: scrambled(150) },
      'leaf',
      (b, page, size, empty) => b.copy(b, (page - 1) * size, (empty - 1) * size, empty * size),
    ],
    ['a non-root interior chunk page whose cell count is 0 (only its right child left)', { pageSize: 512, tsEnds: scrambled(3000) }, 'internal', (b, page, size) => b.writeUInt16BE(0, (page - 1) * size + 3)],
  ];
  cases.forEach(([name, options, pageType, damage], i) => {
    test(`${name}: declined, and the scan says corrupt as SQLite does`, () => {
      const caseData = join(dir, `found-${i}`, 'user_X');
      const caseIndex = `${caseData}.index`;
      writeDataFile(caseData, DATA_CHUNKS);
      writeChunkIndex(caseIndex, options);
      const db = new Database(caseIndex, { readonly: true });
      const pages = db.prepare("SELECT pageno FROM dbstat WHERE name = 'chunk' AND pagetype = ? AND path != '/' ORDER BY pageno").pluck().all(pageType) as number[];
      const emptyLeaf = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'mailbox'").pluck().get() as number;
      db.close();
      assert.ok(pages.length >= 2, `non-root ${pageType} pages of the chunk table`);
      const bytes = readFileSync(caseIndex);
      const pageSize = options.pageSize!;
      const page = pages[Math.floor(pages.length / 2)]!;
      damage(bytes, page, pageSize, emptyLeaf);
      writeFileSync(caseIndex, bytes);

      assert.throws(() => sqliteChunkAnswer(caseIndex), /malformed/, 'SQLite calls the file corrupt');
      const read = readIndexPages(caseIndex);
      assert.ok(
        read instanceof NotPlainPages,
        `page ${page} damaged: the pages were read as ${JSON.stringify({ chunks: (read as IndexPages).chunks, newestEnd: (read as IndexPages).newestEnd })} (${options.tsEnds.length} chunks written)`,
      );
      const scanned = readIndexOf(caseData);
      assert.equal(scanned.error?.problem, 'corrupt', `the scan read ${JSON.stringify(scanned.summary)}`);
    });
  });
});
