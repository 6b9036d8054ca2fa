// `plan` shows who a window or the budget holds, and when it opens, in its text and its JSON.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writePlanJson, writePlanText } from '../../src/cli/output/plan-text.js';
import { planCycle } from '../../src/scheduler/plan/plan-cycle.js';
import { parseDailyWindow } from '../../src/units/daily-window.js';
import { NOW, planInput, user } from '../scheduler/plan/plan-fixtures.js';

const plan = planCycle(
  planInput([user('anne', 'stale'), user('bob', 'missing', { mailBytes: 100 })], {
    timeZone: 'UTC',
    refreshWindow: parseDailyWindow('22:00-04:00'),
    bootstrap: { ...planInput([]).bootstrap, window: parseDailyWindow('01:00-05:00') },
  }),
);

test('plan text: each held user with the window and when it opens', () => {
  const text = writePlanText(plan, NOW);
  assert.match(text, /^0 users would be backed up now/);
  assert.match(text, /\n {2}anne: policy-window: policy\.window 22:00-04:00 is closed: refreshes of users already backed up wait until it opens at 22:00 local time, 2026-11-23T22:00:00\.000Z \(10h from now\)\n/);
  assert.match(text, /\n {2}bob: bootstrap-window: bootstrap\.window 01:00-05:00 is closed: first backups wait until it opens at 01:00 local time, 2026-11-24T01:00:00\.000Z \(13h from now\)\n/);
});

test('plan JSON: held users carry until as an ISO time', () => {
  const json = JSON.parse(writePlanJson(plan, NOW)) as { held: Array<{ userid: string; reason: string; until?: string }> };
  assert.deepEqual(
    json.held.map(({ userid, reason, until }) => ({ userid, reason, until })),
    [
      { userid: 'anne', reason: 'policy-window', until: '2026-11-23T22:00:00.000Z' },
      { userid: 'bob', reason: 'bootstrap-window', until: '2026-11-24T01:00:00.000Z' },
    ],
  );
});
