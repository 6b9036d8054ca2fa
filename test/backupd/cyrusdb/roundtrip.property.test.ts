// Property: whatever key/value pairs the real cyr_dbtool writes (in any backend, with
// overwrites and deletes, in transactions of any size), readCyrusDb returns exactly
// the pairs Cyrus itself shows, in the same order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { readCyrusDb } from '../../../src/backupd/cyrusdb/snapshot.js';
import type { CyrusDbBackend } from '../../../src/backupd/cyrusdb/types.js';
import { committedStates, entriesInOrder } from './helpers/batch-model.js';
import { batchInput, CyrusWorkspace, cyrDbToolUnavailableReason, parseShowOutput, type BatchCommand } from './helpers/cyr-dbtool.js';
import { toHexPairs } from './helpers/fixture-manifest.js';

const RUNS_PER_BACKEND = 15;
const unavailable = cyrDbToolUnavailableReason();

/** Bytes that are special to some format or to the ordering rules. */
const trickyByte = fc.constantFrom(0x00, 0x01, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x25, 0x2d, 0x2e, 0x40, 0x5c, 0x7b, 0x7f, 0x80, 0x89, 0xc3, 0xff);

const keyArbitrary: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .tuple(fc.stringMatching(/^[a-z][a-z0-9._-]{0,12}$/), fc.constantFrom('', '@example.com', '@dom.example.org', '@例子.中国'))
    .map(([local, domain]) => Buffer.from(local + domain)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).map((text) => Buffer.from(text)),
  fc.array(fc.oneof(trickyByte, fc.integer({ min: 0x61, max: 0x7a })), { minLength: 1, maxLength: 12 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ minLength: 1, maxLength: 20 }).map((bytes) => Buffer.from(bytes)),
  fc.constant(Buffer.from('%SHARED')),
);

const valueArbitrary: fc.Arbitrary<Buffer> = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9]{6}$/).map((suffix) => Buffer.from(`/var/spool/cyrus/backup/u/user_${suffix}`)),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
  fc.array(trickyByte, { maxLength: 10 }).map((bytes) => Buffer.from(bytes)),
  fc.constant(Buffer.alloc(0)),
);

/** Pairs set in transactions of random size, then some deleted and some overwritten one by one. */
const workloadArbitrary = fc
  .record({
    pairs: fc.uniqueArray(fc.tuple(keyArbitrary, valueArbitrary), { selector: ([key]) => key.toString('hex'), maxLength: 30 }),
    transactionSize: fc.integer({ min: 1, max: 12 }),
    deleted: fc.array(fc.boolean(), { maxLength: 30 }),
    overwrites: fc.array(valueArbitrary, { maxLength: 8 }),
  })
  .map(({ pairs, transactionSize, deleted, overwrites }): BatchCommand[] => {
    const commands: BatchCommand[] = [];
    for (let start = 0; start < pairs.length; start += transactionSize) {
      const batch = pairs.slice(start, start + transactionSize).map(([key, value]): BatchCommand => ({ op: 'SET', key, value }));
      commands.push({ op: 'BEGIN' }, ...batch, { op: 'COMMIT' });
    }
    pairs.forEach(([key], i) => deleted[i] && commands.push({ op: 'DELETE', key }));
    overwrites.forEach((value, i) => i < pairs.length && commands.push({ op: 'SET', key: pairs[i][0], value }));
    return commands;
  });

describe('round trip through the real cyr_dbtool', () => {
  for (const backend of ['twoskip', 'skiplist', 'flat'] as const satisfies readonly CyrusDbBackend[]) {
    if (unavailable !== undefined) {
      test.skip(`${backend}: ${unavailable}`);
      continue;
    }
    test(`${backend}: reads back exactly what cyr_dbtool shows`, { timeout: 60_000 }, async () => {
      const workspace = await CyrusWorkspace.create();
      let run = 0;
      try {
        await fc.assert(
          fc.asyncProperty(workloadArbitrary, async (commands) => {
            const db = workspace.path(`run-${run++}.db`);
            // SHOW at the end prints what Cyrus itself iterates, from the same process.
            const result = await workspace.run(db, backend, ['batch'], { input: batchInput([...commands, { op: 'SHOW' }]), create: true });
            assert.equal(result.status, 0, result.stderr);
            const shown = toHexPairs(parseShowOutput(result.stdout));

            const snapshot = await readCyrusDb(db, { backend });
            assert.equal(snapshot.backend, backend);
            assert.deepEqual(toHexPairs(snapshot.entries), shown);

            const [model] = committedStates(commands).slice(-1);
            if (backend === 'flat') {
              assert.deepEqual(toHexPairs(snapshot.entries).sort(), toHexPairs([...model.values()]).sort());
            } else {
              assert.deepEqual(toHexPairs(snapshot.entries), toHexPairs(entriesInOrder(model, backend)));
            }
          }),
          { numRuns: RUNS_PER_BACKEND },
        );
      } finally {
        await workspace.remove();
      }
    });
  }
});
