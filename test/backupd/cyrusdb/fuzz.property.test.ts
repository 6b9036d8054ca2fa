// Fuzz of the cyrusdb readers with damaged copies of the good fixtures and with random bytes.
// Property: every parser returns well-formed data or throws a CyrusDbError naming the file,
// never another exception; it allocates nothing larger than the file, whatever a length field
// claims; and readCyrusDb agrees with the parser on the same bytes. Every parser runs on every
// input (a damaged magic sends a file to another parser in real life too). A hang cannot be
// asserted in-process: the readers bound their loops by the file size, and the slowest parse is
// printed so that a superlinear case shows.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { detectBackend } from '../../../src/backupd/cyrusdb/detect.js';
import { CyrusDbError } from '../../../src/backupd/cyrusdb/errors.js';
import { parseFlat } from '../../../src/backupd/cyrusdb/flat.js';
import { compareSignedChar, parseSkiplist } from '../../../src/backupd/cyrusdb/skiplist.js';
import { readCyrusDb } from '../../../src/backupd/cyrusdb/snapshot.js';
import { parseTwoskip } from '../../../src/backupd/cyrusdb/twoskip.js';
import type { CyrusDbBackend, CyrusDbEntry } from '../../../src/backupd/cyrusdb/types.js';
import { fuzzSettings } from '../../support/fuzz-settings.js';
import { repoRoot } from '../../support/paths.js';
import { readManifest } from './helpers/fixture-manifest.js';
import { buildTwoskip } from './helpers/twoskip-builder.js';
import { mutate, twoskipHeaderOver, type HostileValue, type Mutation, type SkiplistField, type TwoskipField } from './helpers/fuzz-mutations.js';

const FILE = '/var/lib/cyrus/backups.db';
const FIXTURES = join(repoRoot, 'test/fixtures/cyrusdb');
const BACKENDS = ['twoskip', 'skiplist', 'flat'] as const satisfies readonly CyrusDbBackend[];
const settings = fuzzSettings();

const PARSERS: Record<CyrusDbBackend, (bytes: Buffer, file: string) => CyrusDbEntry[]> = {
  twoskip: parseTwoskip,
  skiplist: parseSkiplist,
  flat: parseFlat,
};

const good = readManifest(FIXTURES)
  .filter((fixture) => fixture.kind === 'good')
  .map((fixture) => ({ name: fixture.file, backend: fixture.backend, bytes: readFileSync(join(FIXTURES, fixture.file)) }));

// ---------------------------------------------------------------- arbitraries

const position = fc.nat({ max: 0x7fffffff });

const hostileValue: fc.Arbitrary<HostileValue> = fc.oneof(
  fc.record({
    base: fc.constant('literal' as const),
    value: fc.constantFrom(
      0n, 1n, 7n, 8n, 0xffn, 0xfffen, 0xffffn, 0x10000n, 0x7fffffffn, 0xfffffffen, 0xffffffffn, 0x100000000n,
      2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 8n, 2n ** 64n - 1n,
    ),
  }),
  fc.record({ base: fc.constant('fileSize' as const), delta: fc.integer({ min: -24, max: 24 }) }),
  // Pointers to real records: itself (a cycle), an earlier one (a back edge), one byte or word off.
  fc.record({ base: fc.constant('record' as const), index: fc.nat(), delta: fc.constantFrom(0, 0, 0, 1, 4, -8, 8) }),
  fc.record({ base: fc.constant('literal' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
);

const TWOSKIP_FIELDS: readonly TwoskipField[] = [
  'type', 'level', 'keyLength', 'valueLength', 'keyLength64', 'valueLength64', 'slot0', 'slot1', 'slotLast', 'currentSize', 'numRecords', 'flags',
];
const SKIPLIST_FIELDS: readonly SkiplistField[] = [
  'type', 'keyLength', 'valueLength', 'firstPointer', 'lastPointer', 'keyByte', 'deleteTarget', 'maxLevel', 'currentLevel', 'listSize', 'logStart',
];

function mutationArbitrary(backend: CyrusDbBackend): fc.Arbitrary<Mutation> {
  const byteLevel: fc.Arbitrary<Mutation>[] = [
    fc.record({ op: fc.constant('truncate' as const), at: position }),
    fc.record({ op: fc.constant('dropRecord' as const), record: fc.nat() }),
    fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
    fc.record({ op: fc.constant('overwrite' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ op: fc.constant('overwrite' as const), at: position, bytes: fc.constantFrom(...[4, 8, 16].map((n) => new Uint8Array(n).fill(0xff))) }),
    fc.record({
      op: fc.constant('splice' as const),
      at: position,
      remove: fc.nat({ max: 64 }),
      insert: fc.oneof(fc.uint8Array({ maxLength: 16 }), fc.constantFrom(...[[0x0a], [0x09], [0xff], [0x0a, 0x0a], [0xff, 0x0a], [0x09, 0x0a]].map((b) => Uint8Array.from(b)))),
    }),
  ];
  if (backend === 'flat') return fc.oneof(...byteLevel);
  const fields = backend === 'twoskip' ? TWOSKIP_FIELDS : SKIPLIST_FIELDS;
  const field = fc.record({ op: fc.constant('field' as const), record: fc.nat(), field: fc.constantFrom(...fields), value: hostileValue });
  // Field damage is the point of the structured formats, so it is drawn as often as all the rest.
  return fc.oneof({ arbitrary: field, weight: byteLevel.length }, ...byteLevel.map((arbitrary) => ({ arbitrary, weight: 1 })));
}

interface FuzzCase {
  origin: string;
  bytes: Buffer;
}

/** A case that fast-check reports by where it came from, not by its thousands of bytes. */
function fuzzCase(origin: string, bytes: Buffer): FuzzCase {
  return { origin, bytes, [fc.toStringMethod]: () => `${origin} (${bytes.length} bytes: ${bytes.subarray(0, 96).toString('hex')}${bytes.length > 96 ? '…' : ''})` } as FuzzCase;
}

/** A good fixture of `backend` with 1–4 mutations; twoskip CRCs are usually repaired afterwards. */
function mutatedFixture(backend: CyrusDbBackend): fc.Arbitrary<FuzzCase> {
  const fixtures = good.filter((fixture) => fixture.backend === backend);
  return fc
    .record({
      fixture: fc.constantFrom(...fixtures),
      mutations: fc.array(mutationArbitrary(backend), { minLength: 1, maxLength: 4 }),
      repairCrcs: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
    })
    .map(({ fixture, mutations, repairCrcs }) =>
      fuzzCase(
        `${fixture.name} ${JSON.stringify(mutations, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}${repairCrcs && backend === 'twoskip' ? ' (CRCs repaired)' : ''}`,
        mutate(fixture.bytes, backend, mutations, repairCrcs),
      ),
    );
}

/** Random bytes: bare, behind a magic, or behind a whole valid twoskip header. */
const garbage: fc.Arbitrary<FuzzCase> = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((body) => fuzzCase('random bytes', Buffer.from(body))),
  fc
    .tuple(fc.constantFrom('a1028b0d74776f736b69702066696c6500000000', 'a1028b0d736b69706c6973742066696c65000000'), fc.uint8Array({ maxLength: 2048 }), fc.boolean())
    .map(([magic, body, version1]) => {
      return fuzzCase('random bytes behind a magic', Buffer.concat([Buffer.from(magic, 'hex'), Buffer.from(version1 ? [0, 0, 0, 1] : []), Buffer.from(body)]));
    }),
  fc
    .tuple(fc.uint8Array({ minLength: 272, maxLength: 2048 }), fc.bigInt({ min: 0n, max: 64n }), fc.boolean())
    .map(([body, numRecords, dirty]) => fuzzCase('random records behind a valid twoskip header', twoskipHeaderOver(body, numRecords, dirty))),
);

// ---------------------------------------------------------------- the property

let slowest = { ms: 0, parser: '', origin: '', size: 0 };
/** How each parser's runs ended (`data` or the error code), to show that the damage reaches past the first checks. */
const outcomes = new Map<string, number>();

/** Runs one parser on `bytes` and checks the contract; throws an AssertionError naming the input otherwise. */
function checkParser(backend: CyrusDbBackend, input: FuzzCase): CyrusDbEntry[] | CyrusDbError {
  const { bytes } = input;
  const largest = { size: 0 };
  const started = process.hrtime.bigint();
  let result: CyrusDbEntry[] | CyrusDbError;
  const restore = spyOnAllocations(largest);
  try {
    result = PARSERS[backend](bytes, FILE);
  } catch (error) {
    if (!(error instanceof CyrusDbError)) {
      assert.fail(`${backend} parser threw ${(error as Error)?.name ?? typeof error} instead of a CyrusDbError on ${input.origin}: ${(error as Error)?.stack ?? String(error)}`);
    }
    assert.equal(error.file, FILE);
    assert.ok(error.message.startsWith(`${FILE}: `), error.message);
    assert.ok(error.offset === undefined || (Number.isSafeInteger(error.offset) && error.offset >= 0), `offset ${error.offset}`);
    result = error;
  } finally {
    restore();
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (ms > slowest.ms) slowest = { ms, parser: backend, origin: input.origin, size: bytes.length };

  const outcome = `${backend}:${result instanceof CyrusDbError ? result.code : 'data'}`;
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  assert.ok(largest.size <= bytes.length, `${backend} parser allocated ${largest.size} bytes for a ${bytes.length}-byte file (${input.origin})`);
  if (result instanceof CyrusDbError) return result;
  checkEntries(backend, bytes, result);
  return result;
}

/** What a successful parse promises: bounded by the file, and in the backend's key order. */
function checkEntries(backend: CyrusDbBackend, bytes: Buffer, entries: CyrusDbEntry[]): void {
  assert.ok(Array.isArray(entries));
  assert.ok(entries.length <= bytes.length, `${entries.length} entries from ${bytes.length} bytes`);
  for (const { key, value } of entries) {
    assert.ok(Buffer.isBuffer(key) && Buffer.isBuffer(value));
    assert.ok(key.length + value.length <= bytes.length);
  }
  for (let i = 1; i < entries.length; i++) {
    const [previous, current] = [entries[i - 1]!.key, entries[i]!.key];
    if (backend === 'twoskip') assert.ok(Buffer.compare(previous, current) < 0, 'twoskip keys strictly increasing');
    if (backend === 'skiplist') assert.ok(compareSignedChar(previous, current) < 0, 'skiplist keys strictly increasing (signed char)');
  }
  if (backend !== 'flat') assert.ok(entries.every(({ key }) => key.length > 0), 'no empty keys');
}

/** Records the largest Buffer allocation while installed; returns the uninstaller. */
function spyOnAllocations(largest: { size: number }): () => void {
  const originals = { alloc: Buffer.alloc, allocUnsafe: Buffer.allocUnsafe, allocUnsafeSlow: Buffer.allocUnsafeSlow };
  for (const name of Object.keys(originals) as (keyof typeof originals)[]) {
    const original = originals[name] as (size: number, ...rest: unknown[]) => Buffer;
    (Buffer as unknown as Record<string, unknown>)[name] = (size: number, ...rest: unknown[]) => {
      largest.size = Math.max(largest.size, size);
      return original.call(Buffer, size, ...rest);
    };
  }
  return () => Object.assign(Buffer, originals);
}

function checkAllParsers(input: FuzzCase): void {
  for (const backend of BACKENDS) checkParser(backend, input);
}

// ---------------------------------------------------------------- tests

describe('cyrusdb readers on damaged and random input', () => {
  before(() => assert.ok(good.length >= 9, 'the good fixtures are there'));
  after(() => {
    console.log(`# cyrusdb fuzz: ${settings.describe()}; slowest parse ${slowest.ms.toFixed(1)} ms (${slowest.parser} parser, ${slowest.size} bytes, ${slowest.origin.slice(0, 300)})`);
    console.log(`# outcomes: ${[...outcomes].sort().map(([outcome, count]) => `${outcome} ${count}`).join(', ')}`);
  });

  test('the fuzz settings', (t) => {
    t.diagnostic(settings.describe());
  });

  for (const backend of ['twoskip', 'skiplist', 'flat'] as const) {
    test(`damaged ${backend} fixtures: data or a CyrusDbError, from every parser`, { timeout: 120_000 }, () => {
      fc.assert(fc.property(mutatedFixture(backend), checkAllParsers), { seed: settings.seed, numRuns: settings.runs(12000) });
    });
  }

  test('random bytes, bare and behind valid magic and headers: data or a CyrusDbError, from every parser', { timeout: 120_000 }, () => {
    fc.assert(fc.property(garbage, checkAllParsers), { seed: settings.seed, numRuns: settings.runs(10000) });
  });

  test('every truncation of every good fixture: data or a CyrusDbError', { timeout: 120_000 }, () => {
    for (const fixture of good) {
      // Every offset of the small files; a spread of offsets (every header byte, then a stride) of the big ones.
      const stride = fixture.bytes.length > 4096 ? 61 : 1;
      for (let at = 0; at <= fixture.bytes.length; at += at < 512 ? 1 : stride) {
        checkAllParsers(fuzzCase(`${fixture.name} cut at ${at}`, fixture.bytes.subarray(0, at)));
      }
    }
  });

  test('readCyrusDb agrees with the parser on damaged files, and throws only CyrusDbError', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xbs-cyrusdb-fuzz-'));
    let run = 0;
    try {
      const anyDamage = fc.oneof(...BACKENDS.map((backend) => mutatedFixture(backend)), garbage);
      await fc.assert(
        fc.asyncProperty(anyDamage, fc.constantFrom(...BACKENDS), async (input, configured) => {
          const path = join(dir, `case-${run++}.db`);
          await writeFile(path, input.bytes);
          const expected = checkParser(detectBackend(input.bytes, configured), input);
          try {
            const snapshot = await readCyrusDb(path, { backend: configured, attempts: 2 });
            assert.ok(!(expected instanceof CyrusDbError), `readCyrusDb returned data where the parser said ${expected instanceof CyrusDbError ? expected.code : ''} (${input.origin})`);
            assert.deepEqual(snapshot.entries.map(hexPair), expected.map(hexPair));
          } catch (error) {
            if (!(error instanceof CyrusDbError)) assert.fail(`readCyrusDb threw ${(error as Error)?.name} on ${input.origin}: ${(error as Error)?.stack}`);
            assert.ok(expected instanceof CyrusDbError, `readCyrusDb failed (${error.message}) where the parser returned data (${input.origin})`);
            assert.equal(error.code, expected.code);
            assert.equal(error.file, path);
          } finally {
            await rm(path, { force: true });
          }
        }),
        { seed: settings.seed, numRuns: settings.runs(600) },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('regressions found by this fuzz', () => {
  // XBS_FUZZ_SEED=1: a DELETE whose pointer was beyond 2^53 gave a CyrusDbError with offset Infinity
  // ("byte offset Infinity"), since the reader keeps such pointers as Infinity. It now names the DELETE.
  for (const target of [2n ** 53n, 2n ** 60n, 2n ** 64n - 1n]) {
    test(`a DELETE pointing to ${target} is BAD_RECORD at the DELETE, not at offset Infinity`, () => {
      const { bytes, offsets } = buildTwoskip({
        records: [{ type: '=', level: 31, slots: [0, { to: 1 }] }, { type: '-', level: 0, slots: [target] }, { type: '$', level: 0, slots: [336] }],
        numRecords: 0,
      });
      assert.throws(
        () => parseTwoskip(bytes, FILE),
        (error) => error instanceof CyrusDbError && error.code === 'BAD_RECORD' && error.offset === offsets[1] && !/Infinity/.test(error.message),
      );
    });
  }
});

function hexPair({ key, value }: CyrusDbEntry): [string, string] {
  return [key.toString('hex'), value.toString('hex')];
}
