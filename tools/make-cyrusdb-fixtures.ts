/**
 * Regenerates test/fixtures/cyrusdb: small Cyrus key/value database files written
 * by the real `cyr_dbtool` (Cyrus 3.6, Debian package cyrus-common), the content
 * Cyrus itself shows for each (NAME.expected.json, keys and values as hex), and
 * damaged copies for every error code a byte edit can produce (manifest.json
 * names the expected error).
 *
 * Usage, as root (cyr_dbtool is run as the cyrus user through su) or as cyrus:
 *
 *     npx tsc -p tsconfig.json && node dist/tools/make-cyrusdb-fixtures.js [output-dir]
 *
 * Reproducible: every batch input comes from a fixed-seed generator. Cyrus picks
 * skip-list levels at random, so a regeneration gives different bytes with the same
 * content; the byte edits are located from the file structure, not from fixed
 * offsets, so they hit the same field every time. Expected content always comes
 * from `cyr_dbtool ... batch` SHOW on a scratch copy (skiplist with forced recovery,
 * as a restarted server would), and is cross-checked against an independent model of
 * the batch. Re-run the tests afterwards (node --test dist/test/backupd/cyrusdb/).
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import type { CyrusDbErrorCode } from '../src/backupd/cyrusdb/errors.js';
import type { CyrusDbBackend } from '../src/backupd/cyrusdb/types.js';
import { committedStates, entriesInOrder, type ModelState } from '../test/backupd/cyrusdb/helpers/batch-model.js';
import { batchInput, CyrusWorkspace, cyrDbToolUnavailableReason, type BatchCommand } from '../test/backupd/cyrusdb/helpers/cyr-dbtool.js';
import { seededRandom } from '../test/backupd/cyrusdb/helpers/seeded-random.js';
import { toHexPairs, type ExpectedEntries, type FixtureManifestEntry } from '../test/backupd/cyrusdb/helpers/fixture-manifest.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUTPUT_DIR = resolve(process.argv[2] ?? join(REPO_ROOT, 'test/fixtures/cyrusdb'));
const BACKENDS: readonly CyrusDbBackend[] = ['twoskip', 'skiplist', 'flat'];

const random = seededRandom(20240601);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const suffix = () => Array.from({ length: 6 }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join('');
const bytes = (text: string) => Buffer.from(text, 'utf8');
const backupPath = (userid: string) => bytes(`/var/spool/cyrus/backup/${userid.slice(0, 1)}/${userid}_${suffix()}`);
const set = (key: Buffer, value: Buffer): BatchCommand => ({ op: 'SET', key, value });
const del = (key: Buffer): BatchCommand => ({ op: 'DELETE', key });
const BEGIN: BatchCommand = { op: 'BEGIN' };
const COMMIT: BatchCommand = { op: 'COMMIT' };
const ABORT: BatchCommand = { op: 'ABORT' };

// ---------------------------------------------------------------- batch inputs

/** backups.db-like userids, including the byte-order traps, then keys and values full of bytes that need escaping. */
function usersBatch(): BatchCommand[] {
  const userids = [
    'alice', // first: the corrupt copies edit the first record
    'bob', 'bob.smith', 'bob@example.com', 'Alice', 'anne-marie@example.com', 'anne.marie@example.com',
    '%SHARED', 'josé@example.com', 'josh@example.com', 'zoë', 'Ångström@example.se', '用户@例子.中国',
    'emoji😀@example.com', 'first.last@sub.example.org',
  ];
  return [
    ...userids.map((userid) => set(bytes(userid), backupPath(userid))),
    set(bytes('emptyvalue@example.com'), Buffer.alloc(0)),
    set(bytes('tab\tkey'), bytes('value\twith\ttabs')),
    set(bytes('nl\nkey'), bytes('line1\nline2')),
    set(bytes('cr\rkey'), bytes('crlf\r\n')),
    set(Buffer.from('nul\0key', 'latin1'), Buffer.from('nul\0value', 'latin1')),
    set(Buffer.from('ff\xffkey', 'latin1'), Buffer.from('\xff\xff', 'latin1')),
    set(Buffer.from('\xff', 'latin1'), bytes('x')),
    set(Buffer.from('ctl\x01\x02\x08', 'latin1'), Buffer.from('\x0b\x0c', 'latin1')),
    set(Buffer.from('esc\xff\x80', 'latin1'), Buffer.from('\xff\x89looks-escaped', 'latin1')),
  ];
}

interface ChurnBatches {
  /** Creates enough users to make Cyrus repack (twoskip) and checkpoint (skiplist). */
  fill: BatchCommand[];
  /** Overwrites, deletes, re-adds, a multi-op and an aborted transaction; ends with a multi-op one. */
  churn: BatchCommand[];
}

function churnBatches(): ChurnBatches {
  const userid = (n: number) =>
    [`user${String(n).padStart(3, '0')}`, `user${String(n).padStart(3, '0')}@example.com`, `user${String(n).padStart(3, '0')}@dom.example.org`][n % 3];
  const order = Array.from({ length: 180 }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const fill: BatchCommand[] = [];
  for (let start = 0; start < order.length; start += 30) {
    fill.push(BEGIN, ...order.slice(start, start + 30).map((n) => set(bytes(userid(n)), backupPath(userid(n)))), COMMIT);
  }

  const key = (n: number) => bytes(userid(n));
  const churn: BatchCommand[] = [
    ...[3, 17, 29, 41, 55, 60, 77, 90, 101, 115, 130, 142, 150, 166, 179].map((n) => set(key(n), backupPath(userid(n)))),
    ...[5, 10, 20, 33, 48, 64, 88, 99, 120, 171].map((n) => del(key(n))),
    del(bytes('ghost@example.com')), // missing: writes nothing
    BEGIN,
    set(key(5), backupPath(userid(5))), // re-add a deleted key
    set(key(6), bytes('/var/spool/cyrus/backup/u/first_of_two')),
    set(key(6), backupPath(userid(6))), // set twice in one transaction
    del(key(7)),
    set(bytes('newuser@example.com'), backupPath('newuser@example.com')),
    del(key(8)),
    set(key(8), backupPath(userid(8))), // delete and re-add in one transaction
    COMMIT,
    BEGIN,
    set(key(9), bytes('/ABORTED/should-not-appear')),
    del(key(11)),
    set(bytes('aborted@example.com'), bytes('/ABORTED/should-not-appear')),
    ABORT,
    set(key(12), backupPath(userid(12))),
    set(key(12), backupPath(userid(12))),
    set(key(12), backupPath(userid(12))),
  ];
  const unchanged = churn.findLast((command) => command.op === 'SET')!;
  churn.push(unchanged); // storing an identical value writes nothing
  churn.push(BEGIN, ...[13, 14, 15, 16, 18, 19, 21, 22].map((n) => del(key(n))), set(key(14), backupPath(userid(14))), COMMIT);
  return { fill, churn };
}

/** A transaction cyr_dbtool never commits: at end of input it dies with the transaction open, like a crashed writer. */
const UNCOMMITTED: BatchCommand[] = [
  BEGIN,
  set(bytes('alice'), bytes('/var/spool/cyrus/backup/a/alice_UNCOMMITTED')),
  del(bytes('bob')),
  set(bytes('zed@example.com'), bytes('/var/spool/cyrus/backup/z/zed_UNCOMMITTED')),
  set(bytes('zoë'), bytes('/var/spool/cyrus/backup/z/zoë_UNCOMMITTED')),
  del(bytes('%SHARED')),
];

const LONG_KEY_BATCH: BatchCommand[] = [
  set(bytes('alice'), backupPath('alice')),
  // 65535 is the first key length twoskip writes with the 0xFFFF escape and a 64-bit length.
  set(Buffer.alloc(65535, 'B'), backupPath('B-65535')),
];

// ---------------------------------------------------------------- byte edits

const TWOSKIP_FIRST_RECORD = 336; // after the 64-byte header and the 272-byte DUMMY
const TWOSKIP_BLANK = Buffer.from(' BLANK\x07\xa0', 'latin1');

/** Where the parts of the first record after the DUMMY are (skipping BLANK filler). */
function twoskipFirstRecord(file: Buffer) {
  let offset = TWOSKIP_FIRST_RECORD;
  while (file.subarray(offset, offset + 8).equals(TWOSKIP_BLANK)) offset += 8;
  assert.equal(file[offset], 0x2b, 'first twoskip record is an add record');
  const level = file[offset + 1];
  const keyLength = file.readUInt16BE(offset + 2);
  const valueLength = file.readUInt32BE(offset + 4);
  assert.ok(keyLength !== 0xffff && valueLength !== 0xffffffff, 'first record has short lengths');
  const headEnd = offset + 8 + 8 * (level + 1);
  const keyStart = headEnd + 8;
  return { offset, headEnd, keyStart, keyLength, valueLength, tailEnd: keyStart + Math.ceil((keyLength + valueLength) / 8) * 8 };
}

function withTwoskipHeaderCrc(file: Buffer): Buffer {
  file.writeUInt32BE(zlib.crc32(file.subarray(0, 60)), 60);
  return file;
}

const twoskipCurrentSize = (file: Buffer) => Number(file.readBigUInt64BE(48));

/** Just past the COMMIT of the first transaction in a skiplist file's log. */
function skiplistFirstTransactionEnd(file: Buffer): number {
  const roundUp4 = (n: number) => Math.ceil(n / 4) * 4;
  for (let offset = file.readUInt32BE(40); ; ) {
    const type = file.readUInt32BE(offset);
    if (type === 255) return offset + 4;
    if (type === 4) {
      offset += 8;
      continue;
    }
    assert.equal(type, 2, `a log record at ${offset}`);
    let pointer = offset + 8 + roundUp4(file.readUInt32BE(offset + 4));
    pointer += 4 + roundUp4(file.readUInt32BE(pointer));
    while (file.readUInt32BE(pointer) !== 0xffffffff) pointer += 4;
    offset = pointer + 4;
  }
}

interface Corruption {
  file: string;
  from: string;
  backend: CyrusDbBackend;
  error: CyrusDbErrorCode;
  note: string;
  edit: (source: Buffer) => Buffer;
}

const CORRUPTIONS: Corruption[] = [
  { file: 'twoskip-empty.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'EMPTY_FILE', note: 'zero-length file', edit: () => Buffer.alloc(0) },
  { file: 'skiplist-empty.db', from: 'skiplist-users.db', backend: 'skiplist', error: 'EMPTY_FILE', note: 'zero-length file', edit: () => Buffer.alloc(0) },
  {
    file: 'twoskip-short-header.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'TRUNCATED',
    note: 'only the first 40 bytes of the 64-byte header', edit: (f) => f.subarray(0, 40),
  },
  {
    file: 'skiplist-short-header.db', from: 'skiplist-users.db', backend: 'skiplist', error: 'TRUNCATED',
    note: 'only the first 40 bytes of the 48-byte header', edit: (f) => f.subarray(0, 40),
  },
  {
    file: 'twoskip-truncated.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'TRUNCATED',
    note: 'cut 20 bytes below current_size (inside the last committed transaction)', edit: (f) => f.subarray(0, twoskipCurrentSize(f) - 20),
  },
  {
    file: 'twoskip-bad-magic.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'BAD_MAGIC',
    note: "magic 'twoskip file' changed to 'Twoskip file'", edit: (f) => { f[4] = 0x54; return f; },
  },
  {
    file: 'skiplist-bad-magic.db', from: 'skiplist-users.db', backend: 'skiplist', error: 'BAD_MAGIC',
    note: "magic 'skiplist file' changed to 'Skiplist file'", edit: (f) => { f[4] = 0x53; return f; },
  },
  {
    file: 'twoskip-bad-version.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'BAD_VERSION',
    note: 'version 2, header CRC recomputed', edit: (f) => { f.writeUInt32BE(2, 20); return withTwoskipHeaderCrc(f); },
  },
  {
    file: 'skiplist-bad-version.db', from: 'skiplist-users.db', backend: 'skiplist', error: 'BAD_VERSION',
    note: 'version 2', edit: (f) => { f.writeUInt32BE(2, 20); return f; },
  },
  {
    file: 'twoskip-bad-header-crc.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'HEADER_CRC',
    note: 'last byte of the header CRC XOR 1', edit: (f) => { f[63] ^= 1; return f; },
  },
  {
    file: 'twoskip-bad-current-size.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'BAD_HEADER',
    note: 'current_size 100 (below the empty-database size 336), header CRC recomputed',
    edit: (f) => { f.writeBigUInt64BE(100n, 48); return withTwoskipHeaderCrc(f); },
  },
  {
    file: 'twoskip-count-mismatch.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'COUNT_MISMATCH',
    note: 'clean file whose num_records is one too high, header CRC recomputed',
    edit: (f) => { f.writeBigUInt64BE(f.readBigUInt64BE(32) + 1n, 32); return withTwoskipHeaderCrc(f); },
  },
  {
    file: 'twoskip-bad-head-crc.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'RECORD_HEAD_CRC',
    note: "one byte of the stored head CRC of the first record ('alice') XOR 1",
    edit: (f) => { f[twoskipFirstRecord(f).headEnd + 3] ^= 1; return f; },
  },
  {
    file: 'twoskip-bad-tail-crc.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'RECORD_TAIL_CRC',
    note: "one byte of the value of the first record ('alice') XOR 1",
    edit: (f) => { const r = twoskipFirstRecord(f); f[r.keyStart + r.keyLength + 1] ^= 1; return f; },
  },
  {
    file: 'twoskip-bad-level.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'BAD_RECORD',
    note: "level of the first record ('alice') set to 32 (Cyrus allows 31 at most)",
    edit: (f) => { f[twoskipFirstRecord(f).offset + 1] = 32; return f; },
  },
  {
    file: 'twoskip-bad-order.db', from: 'twoskip-users.db', backend: 'twoskip', error: 'BAD_ORDER',
    note: "key 'alice' of the first record changed to '~lice' (now above its successor), tail CRC recomputed",
    edit: (f) => {
      const r = twoskipFirstRecord(f);
      f[r.keyStart] = 0x7e;
      f.writeUInt32BE(zlib.crc32(f.subarray(r.keyStart, r.tailEnd)), r.keyStart - 4);
      return f;
    },
  },
  {
    file: 'skiplist-bad-maxlevel.db', from: 'skiplist-users.db', backend: 'skiplist', error: 'BAD_HEADER',
    note: 'maxlevel 21 (Cyrus allows 20 at most)', edit: (f) => { f.writeUInt32BE(21, 28); return f; },
  },
  {
    file: 'skiplist-truncated-inorder.db', from: 'skiplist-churn.db', backend: 'skiplist', error: 'TRUNCATED',
    note: 'cut halfway through the checkpointed (INORDER) part, below logstart',
    edit: (f) => { const logStart = f.readUInt32BE(40); assert.ok(logStart > 144, 'skiplist-churn was checkpointed'); return f.subarray(0, (144 + logStart) >> 1); },
  },
  {
    file: 'skiplist-bad-delete.db', from: 'skiplist-delete.db', backend: 'skiplist', error: 'BAD_RECORD',
    note: "the committed DELETE of 'alice' (the ADD at offset 144) made to name offset 148, which is not a node",
    edit: (f) => {
      const deleteOfFirst = f.indexOf(Buffer.from('0000000400000090', 'hex'), 144);
      assert.ok(deleteOfFirst > 0, 'DELETE of the first node found');
      f.writeUInt32BE(148, deleteOfFirst + 4);
      return f;
    },
  },
  {
    file: 'skiplist-cut-transactions.db', from: 'skiplist-churn.db', backend: 'skiplist', error: 'BAD_POINTER',
    note: 'cut right after the first transaction of the log: the later ones are gone, yet the nodes before the cut still point at their records (Cyrus shows the older state without complaint)',
    edit: (f) => f.subarray(0, skiplistFirstTransactionEnd(f)),
  },
  {
    file: 'flat-truncated.db', from: 'flat-users.db', backend: 'flat', error: 'TRUNCATED',
    note: 'last 10 bytes cut off (the last line has no LF)', edit: (f) => f.subarray(0, f.length - 10),
  },
  {
    file: 'flat-notab.db', from: 'flat-users.db', backend: 'flat', error: 'BAD_LINE',
    note: 'the TAB of line 2 replaced by a space', edit: (f) => { f[f.indexOf(0x09, f.indexOf(0x0a))] = 0x20; return f; },
  },
];

// ---------------------------------------------------------------- generation

const manifest: FixtureManifestEntry[] = [];

async function main(): Promise<void> {
  const unavailable = cyrDbToolUnavailableReason();
  if (unavailable !== undefined) throw new Error(unavailable);
  await rm(OUTPUT_DIR, { recursive: true, force: true });
  await mkdir(OUTPUT_DIR, { recursive: true });
  const workspace = await CyrusWorkspace.create();
  try {
    await generate(workspace);
  } finally {
    await workspace.remove();
  }
  await writeFile(join(OUTPUT_DIR, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  const total = manifest.reduce((sum, entry) => sum + statSync(join(OUTPUT_DIR, entry.file)).size, 0);
  console.log(`${manifest.length} fixtures in ${OUTPUT_DIR}; database files total ${total} bytes`);
}

async function generate(workspace: CyrusWorkspace): Promise<void> {
  const users = usersBatch();
  const usersState = final(committedStates(users));
  const { fill, churn } = churnBatches();
  const churnStates = committedStates(churn, final(committedStates(fill)));

  for (const backend of BACKENDS) {
    const usersDb = workspace.path(`${backend}-users.db`);
    await workspace.batch(usersDb, backend, users, { create: true });
    await addGood(workspace, usersDb, backend, usersState, 'backups.db-like userids (dots, @domains, %SHARED, UTF-8, case) plus keys and values with TAB, LF, CR, NUL, 0xFF, control bytes and an empty value; one transaction per SET');

    const churnDb = workspace.path(`${backend}-churn.db`);
    await workspace.batch(churnDb, backend, fill, { create: true });
    await workspace.batch(churnDb, backend, churn);
    await addGood(workspace, churnDb, backend, final(churnStates), '180 users in 6 transactions (twoskip repacks, skiplist checkpoints), then overwrites, deletes, a delete of a missing key, a multi-op transaction, an ABORTed one, an unchanged store and a transaction of 8 deletes and a re-add');
  }

  for (const backend of ['twoskip', 'skiplist'] as const) {
    const midTransaction = workspace.path(`${backend}-midtxn.db`);
    await workspace.copyIn(workspace.path(`${backend}-users.db`), midTransaction);
    const before = statSync(midTransaction).size;
    await workspace.run(midTransaction, backend, ['batch'], { input: batchInput(UNCOMMITTED) }); // dies on purpose
    assert.ok(statSync(midTransaction).size > before, `${backend}: the uncommitted transaction left bytes behind`);
    await addGood(workspace, midTransaction, backend, usersState, `${backend}-users plus a transaction cyr_dbtool never committed (it died with it open, like a crashed writer): replace alice, delete bob, add zed, replace zoë, delete %SHARED. Only the committed content may appear.`);
  }

  const midTransaction = await readFile(workspace.path('twoskip-midtxn.db'));
  const currentSize = twoskipCurrentSize(midTransaction);
  const cut = currentSize + ((midTransaction.length - currentSize) >> 1) + 1;
  await writeFile(workspace.path('twoskip-midtxn-truncated.db'), midTransaction.subarray(0, cut));
  await addGood(workspace, workspace.path('twoskip-midtxn-truncated.db'), 'twoskip', usersState, `twoskip-midtxn cut at byte ${cut}, inside the uncommitted tail (current_size ${currentSize}): still valid`);

  const skiplistChurn = await readFile(workspace.path('skiplist-churn.db'));
  assert.equal(skiplistChurn.readUInt32BE(skiplistChurn.length - 4), 255, 'skiplist-churn ends with a COMMIT');
  assert.ok(skiplistChurn.readUInt32BE(40) < skiplistChurn.length - 4, 'skiplist-churn has a log after its checkpoint');
  await writeFile(workspace.path('skiplist-truncated-log.db'), skiplistChurn.subarray(0, skiplistChurn.length - 2));
  await addGood(workspace, workspace.path('skiplist-truncated-log.db'), 'skiplist', churnStates[churnStates.length - 2], 'skiplist-churn with its last 2 bytes cut, inside the COMMIT of the last transaction: that transaction must be ignored');

  const longKeyDb = workspace.path('twoskip-longkey.db');
  await workspace.batch(longKeyDb, 'twoskip', LONG_KEY_BATCH, { create: true });
  await addGood(workspace, longKeyDb, 'twoskip', final(committedStates(LONG_KEY_BATCH)), 'a 65535-byte key, which Cyrus writes with the 0xFFFF length escape and a 64-bit length');

  await writeFile(workspace.path('flat-empty.db'), Buffer.alloc(0));
  await addGood(workspace, workspace.path('flat-empty.db'), 'flat', new Map(), 'zero-length flat file: a valid empty database');

  const deleteBatch = [set(bytes('alice'), backupPath('alice')), set(bytes('bob'), backupPath('bob')), del(bytes('alice'))];
  await workspace.batch(workspace.path('skiplist-delete.db'), 'skiplist', deleteBatch, { create: true });

  for (const corruption of CORRUPTIONS) {
    const source = Buffer.from(await readFile(workspace.path(corruption.from)));
    await writeFile(join(OUTPUT_DIR, corruption.file), corruption.edit(source));
    manifest.push({ file: corruption.file, backend: corruption.backend, kind: 'corrupt', expected_error: corruption.error, note: `${corruption.note} (from ${corruption.from})` });
  }
}

/** Copies a good database out, with what Cyrus shows for it, after checking that against the model. */
async function addGood(workspace: CyrusWorkspace, db: string, backend: CyrusDbBackend, model: ModelState, note: string): Promise<void> {
  const shown = await workspace.show(db, backend);
  const name = db.slice(db.lastIndexOf('/') + 1);
  if (backend === 'flat') {
    // flat keeps mbox collation order, which the model does not know: compare as sets.
    assert.deepEqual(toHexPairs(shown).sort(), toHexPairs([...model.values()]).sort(), `${name}: Cyrus shows the modelled content`);
  } else {
    assert.deepEqual(toHexPairs(shown), toHexPairs(entriesInOrder(model, backend)), `${name}: Cyrus shows the modelled content`);
  }
  await writeFile(join(OUTPUT_DIR, name), readFileSync(db));
  const expected: ExpectedEntries = { backend, count: shown.length, entries: toHexPairs(shown) };
  const expectedName = `${name}.expected.json`;
  await writeFile(join(OUTPUT_DIR, expectedName), `${JSON.stringify(expected)}\n`);
  manifest.push({ file: name, backend, kind: 'good', expected_json: expectedName, note });
}

function final(states: readonly ModelState[]): ModelState {
  return states[states.length - 1];
}

await main();
