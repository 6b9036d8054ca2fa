import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cronPeriod } from '../../../src/config/cron-period.js';
import { refreshFromAge } from '../../../src/scheduler/plan/refresh-ahead.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

test('refreshFromAge: maxAge less one schedule period and the longest recent run, never below 0', () => {
  const cases: Array<[string, number, number, number, number]> = [
    ['a daily maxAge, cycles every 10 minutes taking 2', 24 * H, 10 * M, 2 * M, 24 * H - 12 * M],
    ['the issue\'s case: maxAge 30 s, a cycle a minute', 30 * S, M, 5 * S, 0],
    ['no run measured yet', 2 * M, 10 * S, 0, 110 * S],
  ];
  for (const [what, maxAge, period, run, expected] of cases) assert.equal(refreshFromAge(maxAge, period, run), expected, what);
});

test('refreshing ahead keeps every user under maxAge: a user one moment short of due at one cycle is backed up by the next', () => {
  const maxAge = 2 * M;
  const period = 20 * S;
  const run = 7 * S;
  const from = refreshFromAge(maxAge, period, run);
  // Not due at a cycle, so younger than `from`; due at the next, whose backups end within `run`.
  const oldestReached = from - 1 + period + run;
  assert.ok(oldestReached < maxAge, `${oldestReached} < ${maxAge}`);
});

test('cronPeriod: the longest gap between ticks, weekends included', () => {
  assert.equal(cronPeriod('*/10 * * * *'), 10 * M);
  assert.equal(cronPeriod('*/5 * * * * *'), 5 * S);
  assert.equal(cronPeriod('0 2 * * *'), 24 * H);
  assert.equal(cronPeriod('0 9-17 * * 1-5'), 64 * H, 'Friday 17:00 to Monday 09:00');
});
