import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../src/units/duration.js';
import { parseSize } from '../../src/units/size.js';

test('durations in every unit and summed', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1.5h'), 5_400_000);
});

test('durations without a unit or with junk are refused', () => {
  for (const bad of ['', '60', '10 m', '1x', 'h', '-5m', '5m junk']) {
    assert.throws(() => parseDuration(bad), /duration/, bad);
  }
});

test('sizes decimal and binary', () => {
  assert.equal(parseSize('500MB'), 500_000_000);
  assert.equal(parseSize('2GiB'), 2 * 2 ** 30);
  assert.equal(parseSize('1kib'), 1024);
  assert.equal(parseSize('123'), 123);
  assert.equal(parseSize(4096), 4096);
  for (const bad of ['', 'GiB', '2 gigs', '-1MB', '1ZB']) assert.throws(() => parseSize(bad), /size/, bad);
});
