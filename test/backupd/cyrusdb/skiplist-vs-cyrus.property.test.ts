// Damaged skiplist files, read by us and by Cyrus itself. skiplist has no checksums, so the reader
// checks the structure instead; this shows that what it still reads is what Cyrus reads.
// Damage: bit flips, overwritten bytes, hostile values in type, length, key, pointer, DELETE and
// header fields, truncations (anywhere and at record boundaries) and records cut out, applied
// to real files written by cyr_dbtool. The oracle is `cyr_dbtool ... batch` SHOW on a scratch
// copy, opened with forced recovery as a restarted server would (it repairs what it can).
// Property: our parser refuses (CyrusDbError), or returns exactly the pairs Cyrus shows.
// The outcome counts are printed: what we refused is split by what Cyrus made of the file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { CyrusDbError } from '../../../src/backupd/cyrusdb/errors.js';
import { parseSkiplist } from '../../../src/backupd/cyrusdb/skiplist.js';
import type { CyrusDbEntry } from '../../../src/backupd/cyrusdb/types.js';
import { fuzzSettings } from '../../support/fuzz-settings.js';
import { repoRoot } from '../../support/paths.js';
import { batchInput, CyrusWorkspace, cyrDbToolUnavailableReason, parseShowOutput } from './helpers/cyr-dbtool.js';
import { mutate, recordOffsets, type HostileValue, type Mutation, type SkiplistField } from './helpers/fuzz-mutations.js';

const FIXTURES = join(repoRoot, 'test/fixtures/cyrusdb');
const SOURCES = ['skiplist-users.db', 'skiplist-churn.db', 'skiplist-midtxn.db', 'skiplist-truncated-log.db'];
const FIELDS: readonly SkiplistField[] = [
  'type', 'keyLength', 'valueLength', 'firstPointer', 'lastPointer', 'keyByte', 'deleteTarget', 'maxLevel', 'currentLevel', 'listSize', 'logStart',
];
const settings = fuzzSettings();
const unavailable = cyrDbToolUnavailableReason();

interface Source {
  name: string;
  bytes: Buffer;
  records: number[];
  /** What Cyrus shows for the undamaged file. */
  shown: string[];
}

/** Where the damage goes, drawn independently of the file; resolved against it in `damage`. */
type Damage = Mutation | { op: 'truncateAtRecord'; record: number };

const hostileValue: fc.Arbitrary<HostileValue> = fc.oneof(
  { arbitrary: fc.record({ base: fc.constant('record' as const), index: fc.nat(), delta: fc.constantFrom(0, 0, 4, -4, 8, 12) }), weight: 3 },
  { arbitrary: fc.record({ base: fc.constant('literal' as const), value: fc.constantFrom(0n, 1n, 2n, 3n, 4n, 20n, 21n, 255n, 257n, 0xffffffffn) }), weight: 2 },
  { arbitrary: fc.record({ base: fc.constant('fileSize' as const), delta: fc.integer({ min: -16, max: 16 }) }), weight: 1 },
  { arbitrary: fc.record({ base: fc.constant('literal' as const), value: fc.bigInt({ min: 0n, max: 0xffffffffn }) }), weight: 1 },
);

const position = fc.nat({ max: 0x7fffffff });
const damageArbitrary: fc.Arbitrary<Damage> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('field' as const), record: fc.nat(), field: fc.constantFrom(...FIELDS), value: hostileValue }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('overwrite' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('truncate' as const), at: position }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('truncateAtRecord' as const), record: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('dropRecord' as const), record: fc.nat() }), weight: 1 },
);

function damage(source: Source, damages: readonly Damage[]): Buffer {
  const mutations = damages.map((d): Mutation => (d.op === 'truncateAtRecord' ? { op: 'truncate', at: source.records[d.record % source.records.length]! } : d));
  return mutate(source.bytes, 'skiplist', mutations, false);
}

const describeDamage = (damages: readonly Damage[]) =>
  JSON.stringify(damages, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
const pairKey = ({ key, value }: CyrusDbEntry) => `${key.toString('hex')}=${value.toString('hex')}`;
const sorted = (entries: readonly CyrusDbEntry[]) => entries.map(pairKey).sort();
const keysOf = (pairs: readonly string[]) => new Set(pairs.map((pair) => pair.slice(0, pair.indexOf('='))));

/** How a set of pairs compares with a reference: equal, or which way it differs. */
function comparison(pairs: readonly string[], reference: readonly string[]): 'same' | 'fewer users' | 'more users' | 'other users or values' {
  if (pairs.join() === reference.join()) return 'same';
  const [keys, referenceKeys] = [keysOf(pairs), keysOf(reference)];
  if ([...keys].every((key) => referenceKeys.has(key)) && keys.size < referenceKeys.size) return 'fewer users';
  if ([...referenceKeys].every((key) => keys.has(key)) && keys.size > referenceKeys.size) return 'more users';
  return 'other users or values';
}

describe('damaged skiplist files: our reader against Cyrus', () => {
  if (unavailable !== undefined) {
    test.skip(unavailable);
    return;
  }
  let workspace: CyrusWorkspace;
  const sources: Source[] = [];
  const outcomes = new Map<string, number>();
  const count = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  let run = 0;

  /** The pairs Cyrus shows for `bytes` (sorted), or undefined when it refuses to open the file. */
  async function cyrusShows(bytes: Buffer): Promise<string[] | undefined> {
    const scratch = workspace.path(`case-${run++}.db`);
    await writeFile(`${scratch}.in`, bytes);
    await workspace.copyIn(`${scratch}.in`, scratch); // owned by cyrus, who may have to repair it
    try {
      const result = await workspace.run(scratch, 'skiplist', ['batch'], { input: batchInput([{ op: 'SHOW' }]), recover: true, timeoutMs: 10_000 });
      return result.status === 0 ? sorted(parseShowOutput(result.stdout)) : undefined;
    } finally {
      await Promise.all([rm(scratch, { force: true }), rm(`${scratch}.in`, { force: true })]);
    }
  }

  before(async () => {
    workspace = await CyrusWorkspace.create();
    const files = SOURCES.map((name) => ({ name, bytes: readFileSync(join(FIXTURES, name)) }));
    // One more: a file Cyrus has recovered (listsize rewritten to the live count, the unfinished transaction gone).
    const recovered = workspace.path('recovered.db');
    await workspace.copyIn(join(FIXTURES, 'skiplist-midtxn.db'), recovered);
    assert.equal((await workspace.run(recovered, 'skiplist', ['batch'], { input: batchInput([{ op: 'SHOW' }]), recover: true })).status, 0);
    files.push({ name: 'skiplist-midtxn.db recovered by Cyrus', bytes: await readFile(recovered) });
    for (const { name, bytes } of files) {
      const shown = await cyrusShows(bytes);
      assert.ok(shown !== undefined, name);
      assert.deepEqual(sorted(parseSkiplist(bytes, name)), shown, `${name}: undamaged, we read what Cyrus shows`);
      sources.push({ name, bytes, records: recordOffsets(bytes, 'skiplist'), shown });
    }
  });
  after(async () => {
    await workspace?.remove();
    console.log(`# skiplist against Cyrus: ${settings.describe()}; ${[...outcomes].sort().map(([outcome, n]) => `${outcome}: ${n}`).join('; ')}`);
  });

  test('we refuse the file, or read exactly the pairs Cyrus shows', { timeout: 120_000 }, async () => {
    const cases = fc.record({ source: fc.nat(), damages: fc.array(damageArbitrary, { minLength: 1, maxLength: 2 }) });
    await fc.assert(
      fc.asyncProperty(cases, async ({ source: index, damages }) => {
        const source = sources[index % sources.length]!;
        const bytes = damage(source, damages);
        let ours: string[] | CyrusDbError;
        try {
          ours = sorted(parseSkiplist(bytes, source.name));
        } catch (error) {
          if (!(error instanceof CyrusDbError)) throw error;
          ours = error;
        }
        const cyrus = await cyrusShows(bytes);
        const cyrusOutcome = cyrus === undefined ? 'Cyrus refuses too' : `Cyrus shows ${comparison(cyrus, source.shown) === 'same' ? 'the undamaged content' : comparison(cyrus, source.shown)}`;
        if (ours instanceof CyrusDbError) {
          count(`refused (${cyrusOutcome})`);
          return;
        }
        const versusCyrus = cyrus === undefined ? 'Cyrus refuses' : comparison(ours, cyrus);
        if (versusCyrus === 'same') {
          const versusUndamaged = comparison(ours, source.shown);
          count(`same as Cyrus (${versusUndamaged === 'same' ? 'the undamaged content' : `${versusUndamaged} than undamaged`})`);
          return;
        }
        count(`different: ${versusCyrus}`);
        assert.fail(`${source.name} ${describeDamage(damages)}: we read ${ours.length} pairs where ${versusCyrus === 'Cyrus refuses' ? 'Cyrus refuses the file' : `Cyrus shows ${cyrus!.length} (${versusCyrus})`}`);
      }),
      { seed: settings.seed, numRuns: settings.runs(300), endOnFailure: true },
    );
  });
});
