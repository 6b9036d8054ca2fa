import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sparedBySync } from '../../../src/scheduler/plan/spared-by-sync.js';
import { H, NOW, user } from './plan-fixtures.js';

test('sparedBySync: recorded in-sync once per time a user would have been backed up, as a table', () => {
  const REFRESH_FROM = 20 * H;
  const cases: Array<[string, Parameters<typeof user>[2], number | null, boolean, boolean]> = [
    ['due by its backup, found in sync: spared', { age: H, realAge: 30 * H, lastInSync: NOW - H }, null, false, true],
    ['not due by its backup: nothing spared', { age: H, realAge: 10 * H, lastInSync: NOW - H }, null, false, false],
    ['recorded in sync 2 h ago, read again: not due by that record, no second row', { age: H, realAge: 30 * H, lastInSync: NOW - H }, NOW - 2 * H, false, false],
    ['recorded in sync 21 h ago, read again: due by that record, a new row', { age: H, realAge: 30 * H, lastInSync: NOW - H }, NOW - 21 * H, false, true],
    ['this reading is the one recorded: nothing new', { age: H, realAge: 30 * H, lastInSync: NOW - H }, NOW - H, false, false],
    ['planned all the same (ahead of maxAge): an XBACKUP goes out, so no in-sync row', { age: H, realAge: 30 * H, lastInSync: NOW - H }, null, true, false],
    ['never compared', { age: 30 * H, realAge: 30 * H, lastInSync: null }, null, false, false],
  ];
  for (const [what, extra, recorded, planned, spared] of cases) {
    const anne = user('anne', 'fresh', extra);
    const result = sparedBySync([anne], () => recorded, new Set(planned ? ['anne'] : []), REFRESH_FROM, NOW);
    assert.equal(result.length === 1, spared, what);
  }
  const stale = user('bob', 'stale', { age: 30 * H, realAge: 30 * H, lastInSync: NOW - H });
  assert.deepEqual(sparedBySync([stale], () => null, new Set(), REFRESH_FROM, NOW), [], 'a stale user is not spared: it is backed up');
});
