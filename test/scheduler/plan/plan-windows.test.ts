// The planner and the admin's pacing: bootstrap.window, bootstrap.maxBytesPerWindow and policy.window,
// with an injected clock (NOW is 2026-11-23T12:00Z) and the windows read in UTC.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planCycle } from '../../../src/scheduler/plan/plan-cycle.js';
import type { BootstrapLimits, HoldReason, PlanInput } from '../../../src/scheduler/plan/plan-types.js';
import { parseDailyWindow } from '../../../src/units/daily-window.js';
import { H, NOW, planInput, seen, server, user } from './plan-fixtures.js';

interface WindowCase {
  rule: string;
  input: PlanInput;
  planned: string[];
  held: Record<string, HoldReason>;
  detail?: Record<string, RegExp>;
  /** When each held user's hold ends, by userid. */
  until?: Record<string, string>;
}

const w = parseDailyWindow;
const budget = (maxBytes: number, usedBytes = 0): BootstrapLimits['budget'] => ({ maxBytes: { value: maxBytes, text: `${maxBytes}B` }, usedBytes });
const withBootstrap = (users: Parameters<typeof planInput>[0], limits: Partial<BootstrapLimits>, extra: Partial<PlanInput> = {}) =>
  planInput(users, { timeZone: 'UTC', bootstrap: { ...planInput([]).bootstrap, ...limits }, ...extra });
const anneAndBob = [user('anne', 'stale'), user('bob', 'missing', { mailBytes: 100 })];
const sized = (sizes: Record<string, number | null>) => Object.entries(sizes).map(([userid, mailBytes]) => user(userid, 'missing', { mailBytes }));

const cases: WindowCase[] = [
  {
    rule: 'a first backup outside bootstrap.window is held until it opens; refreshes are not windowed by it',
    input: withBootstrap(anneAndBob, { window: w('01:00-05:00') }),
    planned: ['anne refresh'],
    held: { bob: 'bootstrap-window' },
    detail: { bob: /^bootstrap\.window 01:00-05:00 is closed: first backups wait until it opens at 01:00 local time, 2026-11-24T01:00:00\.000Z \(13h/ },
    until: { bob: '2026-11-24T01:00:00Z' },
  },
  {
    rule: 'inside bootstrap.window, first backups go',
    input: withBootstrap(anneAndBob, { window: w('11:00-13:00') }),
    planned: ['anne refresh', 'bob first'],
    held: {},
  },
  {
    rule: 'a window across midnight is open in its morning part',
    input: withBootstrap(anneAndBob, { window: w('22:00-12:30') }),
    planned: ['anne refresh', 'bob first'],
    held: {},
  },
  {
    rule: 'a closed window holds first backups before any other limit (a group in flight, staging space)',
    input: withBootstrap(anneAndBob, { window: w('22:00-04:00'), groupInFlight: true, stagingShort: true }),
    planned: ['anne refresh'],
    held: { bob: 'bootstrap-window' },
    until: { bob: '2026-11-23T22:00:00Z' },
  },
  {
    rule: 'policy.window holds refreshes (shared mailboxes too) outside it, and first backups not',
    input: planInput([...anneAndBob, user('%SHARED', 'stale')], {
      timeZone: 'UTC',
      refreshWindow: w('20:00-06:00'),
      servers: [server('imap1', ['anne', 'bob'], { sharedMailboxes: ['shared.news'] })],
    }),
    planned: ['bob first'],
    held: { anne: 'policy-window', '%SHARED': 'policy-window' },
    detail: { anne: /^policy\.window 20:00-06:00 is closed: refreshes of users already backed up wait until it opens at 20:00 local time, 2026-11-23T20:00:00\.000Z \(8h/ },
    until: { anne: '2026-11-23T20:00:00Z' },
  },
  {
    rule: 'a closed policy.window is the reason shown even on a paused server (nothing would be sent anyway)',
    input: planInput([user('anne', 'stale')], { timeZone: 'UTC', refreshWindow: w('01:00-02:00'), servers: [server('imap1', ['anne'], { pausedUntil: NOW + H })] }),
    planned: [],
    held: { anne: 'policy-window' },
  },
  {
    rule: 'inside policy.window, refreshes go',
    input: planInput([user('anne', 'stale')], { timeZone: 'UTC', refreshWindow: w('00:00-24:00') }),
    planned: ['anne refresh'],
    held: {},
  },
  {
    rule: 'the budget cuts the group: the user who would take the window over it waits for the next opening (next midnight without a window)',
    input: withBootstrap(sized({ a: 300, b: 400, c: 500 }), { budget: budget(1000) }),
    planned: ['a first', 'b first'],
    held: { c: 'bootstrap-budget' },
    detail: { c: /^bootstrap\.maxBytesPerWindow 1000B: 0B of first backups started in this window and 700B in this group, and c \(500B\) would take it over; the budget starts again at 00:00 local time, 2026-11-24T00:00:00\.000Z/ },
    until: { c: '2026-11-24T00:00:00Z' },
  },
  {
    rule: 'what earlier groups of the same opening used counts: the next user waits, the group is empty',
    input: withBootstrap(sized({ a: 300, b: 400 }), { budget: budget(1000, 800), window: w('11:00-13:00') }),
    planned: [],
    held: { a: 'bootstrap-budget', b: 'bootstrap-budget' },
    detail: { a: /800B of first backups started in this window, and a \(300B\) would take it over; the budget starts again at 11:00 local time, 2026-11-24T11:00:00\.000Z/ },
    until: { a: '2026-11-24T11:00:00Z', b: '2026-11-24T11:00:00Z' },
  },
  {
    rule: 'a user larger than the whole budget goes alone when nothing has started in the opening yet, never waiting for ever',
    input: withBootstrap(sized({ huge: 5000, later: 10 }), { budget: budget(1000), order: 'largest' }),
    planned: ['huge first'],
    held: { later: 'bootstrap-budget' },
  },
  {
    rule: 'a used-up budget holds every first backup, those of unknown size (counted as 0) too',
    input: withBootstrap(sized({ a: 1, unknown: null }), { budget: budget(1000, 5000) }),
    planned: [],
    held: { a: 'bootstrap-budget', unknown: 'bootstrap-budget' },
    detail: { a: /4\.9KiB of first backups started in this window, which uses it up; the budget starts again at 00:00 local time/ },
    until: { a: '2026-11-24T00:00:00Z' },
  },
  {
    rule: 'within the budget, the group is only limited as before',
    input: withBootstrap(sized({ a: 300, b: 400 }), { budget: budget(1000, 200) }),
    planned: ['a first', 'b first'],
    held: {},
  },
];

describe('planCycle: windows and budgets', () => {
  for (const { rule, input, planned, held, detail, until } of cases) {
    test(rule, () => {
      const plan = planCycle(input);
      assert.deepEqual(seen(plan), { planned, held });
      for (const [userid, words] of Object.entries(detail ?? {})) assert.match(plan.held.find((h) => h.userid === userid)!.detail, words);
      for (const [userid, at] of Object.entries(until ?? {})) assert.equal(plan.held.find((h) => h.userid === userid)!.until, Date.parse(at), userid);
      if (planned.every((p) => !p.endsWith(' first'))) assert.equal(plan.firstGroup, null);
    });
  }
});
