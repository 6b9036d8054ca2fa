// Ages are those of the moment asked: the snapshot a cycle classified, moved on to `now`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classificationAt } from '../../src/staleness/as-of.js';
import type { Classification } from '../../src/staleness/classify.js';
import { userStatus } from '../support/user-status.js';

const AT = Date.parse('2026-11-23T12:00:00Z');
const H = 3_600_000;
const MAX_AGE = 24 * H;

const fleet: Classification = {
  coverage: 'complete',
  users: [
    userStatus('anne', 'fresh', 2 * H, AT),
    userStatus('near', 'fresh', MAX_AGE - 30_000, AT),
    userStatus('bob', 'stale', 30 * H, AT),
    userStatus('carol', 'failing', 10 * H, AT),
    userStatus('dave', 'missing', null, AT),
    userStatus('olga', 'orphan', 900 * H, AT),
  ],
};

const CASES: Array<[string, number, Record<string, [string, number | null]>]> = [
  ['asked at the classification', 0, { anne: ['fresh', 2 * H], near: ['fresh', MAX_AGE - 30_000], bob: ['stale', 30 * H], carol: ['failing', 10 * H], dave: ['missing', null], olga: ['orphan', 900 * H] }],
  ['46 s later: every age 46 s older; near has crossed maxAge and is stale', 46_000, { anne: ['fresh', 2 * H + 46_000], near: ['stale', MAX_AGE + 16_000], bob: ['stale', 30 * H + 46_000], carol: ['failing', 10 * H + 46_000], dave: ['missing', null], olga: ['orphan', 900 * H + 46_000] }],
  ['the clock stepped back: ages do not shrink', -60_000, { anne: ['fresh', 2 * H], near: ['fresh', MAX_AGE - 30_000], bob: ['stale', 30 * H], carol: ['failing', 10 * H], dave: ['missing', null], olga: ['orphan', 900 * H] }],
];

for (const [name, later, expected] of CASES) {
  test(`classificationAt: ${name}`, () => {
    const seen = classificationAt(fleet, AT, AT + later, MAX_AGE);
    assert.deepEqual(Object.fromEntries(seen.users.map((u) => [u.userid, [u.state, u.age]])), expected);
    for (const u of seen.users) assert.equal(u.realAge, u.age, `${u.userid}: the age without in-sync evidence moves too`);
    assert.equal(seen.coverage, 'complete');
  });
}

test('classificationAt leaves the snapshot itself as it was', () => {
  classificationAt(fleet, AT, AT + 10 * H, MAX_AGE);
  assert.equal(fleet.users[0]!.age, 2 * H);
});
