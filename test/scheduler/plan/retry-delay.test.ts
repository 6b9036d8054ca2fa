import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { retryDelay } from '../../../src/scheduler/plan/retry-delay.js';

const MIN = 60_000;
const BASE = 5 * MIN;
const MAX = 6 * 60 * MIN;
const middle = () => 0.5;

test('exponential: base × 2^(n−1), without jitter in the middle of the range', () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => retryDelay(n, BASE, MAX, middle)),
    [5, 10, 20, 40].map((m) => m * MIN),
  );
});

test('capped at maxDelay, even after very many failures', () => {
  assert.equal(retryDelay(8, BASE, MAX, middle), MAX);
  assert.equal(retryDelay(5000, BASE, MAX, middle), MAX);
});

test('no failures, no wait', () => {
  assert.equal(retryDelay(0, BASE, MAX, middle), 0);
});

test('jitter stays within ±20% and never goes above maxDelay', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, r) => {
      const nominal = Math.min(MAX, BASE * 2 ** (failures - 1));
      const delay = retryDelay(failures, BASE, MAX, () => r);
      assert.ok(delay >= Math.floor(nominal * 0.8) && delay <= Math.ceil(nominal * 1.2), `${delay} near ${nominal}`);
      assert.ok(delay <= MAX, `${delay} ≤ ${MAX}`);
    }),
  );
});

test('jitter spreads retries: the extremes of the random source give −20% and +20%', () => {
  assert.equal(retryDelay(1, BASE, MAX, () => 0), 4 * MIN);
  assert.equal(retryDelay(1, BASE, MAX, () => 0.999999), Math.round(BASE * (1 + 0.2 * (2 * 0.999999 - 1))));
});
