// `bootstrap --dry-run`'s groups with bootstrap.window and bootstrap.maxBytesPerWindow, with an injected
// clock (NOW is 2026-11-23T12:00Z) and the windows read in UTC.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { previewBootstrap, type BootstrapPreview } from '../../../src/scheduler/plan/bootstrap-preview.js';
import type { BootstrapLimits } from '../../../src/scheduler/plan/plan-types.js';
import { parseDailyWindow } from '../../../src/units/daily-window.js';
import { GiB, NOW } from './plan-fixtures.js';

type Limits = Pick<BootstrapLimits, 'groupSize' | 'maxGroupBytes' | 'order' | 'window' | 'budget'>;

const LIMITS: Limits = { groupSize: 5, maxGroupBytes: { value: 2 * GiB, text: '2GiB' }, order: 'smallest', window: null, budget: null };
const budget = (maxBytes: number, usedBytes = 0): Limits['budget'] => ({ maxBytes: { value: maxBytes, text: `${maxBytes}B` }, usedBytes });
const sized = (sizes: Record<string, number | null>) => Object.entries(sizes).map(([userid, sizeBytes]) => ({ userid, server: 'imap1', sizeBytes }));
const at = (iso: string) => Date.parse(iso);

/** Each opening as `<from ISO or now> <budget left>: [group users]...`. */
function shape(preview: BootstrapPreview): string[] {
  return preview.openings.map(
    (o) => `${o.current ? 'now' : new Date(o.from).toISOString()} ${o.budgetBytes ?? '-'}: ${o.groups.map((g) => `[${g.users.map((u) => u.userid).join(' ')}]`).join(' ')}`,
  );
}

interface Case {
  rule: string;
  users: Record<string, number | null>;
  limits: Partial<Limits>;
  openings: string[];
  /** The window's state, when there is one: open, or when it opens. */
  window?: 'open' | string;
}

const cases: Case[] = [
  {
    rule: 'without a window or budget: every group now, as before',
    users: { a: 10, b: 20, c: 30 },
    limits: { groupSize: 2 },
    openings: ['now -: [a b] [c]'],
  },
  {
    rule: 'a closed window: the groups start when it opens, and it says when',
    users: { a: 10, b: 20 },
    limits: { window: parseDailyWindow('01:00-05:00') },
    openings: ['2026-11-24T01:00:00.000Z -: [a b]'],
    window: '2026-11-24T01:00:00.000Z',
  },
  {
    rule: 'an open window without a budget: every group now',
    users: { a: 10 },
    limits: { window: parseDailyWindow('11:00-13:00') },
    openings: ['now -: [a]'],
    window: 'open',
  },
  {
    rule: 'the budget cuts the groups into openings: what fits now, the rest in the next openings, each with the whole budget',
    users: { a: 100, b: 200, c: 300, d: 400 },
    limits: { window: parseDailyWindow('11:00-13:00'), budget: budget(500) },
    openings: ['now 500: [a b]', '2026-11-24T11:00:00.000Z 500: [c]', '2026-11-25T11:00:00.000Z 500: [d]'],
    window: 'open',
  },
  {
    rule: 'what already started in the current opening counts; a used-up opening has no group',
    users: { a: 100, b: 200 },
    limits: { window: parseDailyWindow('11:00-13:00'), budget: budget(500, 450) },
    openings: ['now 50: ', '2026-11-24T11:00:00.000Z 500: [a b]'],
    window: 'open',
  },
  {
    rule: 'a used-up budget takes no user of unknown size either (the planner holds them too)',
    users: { a: null },
    limits: { window: parseDailyWindow('11:00-13:00'), budget: budget(500, 500) },
    openings: ['now 0: ', '2026-11-24T11:00:00.000Z 500: [a]'],
    window: 'open',
  },
  {
    rule: 'a closed window: its next opening has used nothing, whatever the last one used',
    users: { a: 300, b: 300 },
    limits: { window: parseDailyWindow('22:00-04:00'), budget: budget(500, 500) },
    openings: ['2026-11-23T22:00:00.000Z 500: [a]', '2026-11-24T22:00:00.000Z 500: [b]'],
    window: '2026-11-23T22:00:00.000Z',
  },
  {
    rule: 'a user larger than the whole budget goes alone in an untouched opening rather than never',
    users: { a: 100, huge: 5000 },
    limits: { window: parseDailyWindow('11:00-13:00'), budget: budget(500) },
    openings: ['now 500: [a]', '2026-11-24T11:00:00.000Z 500: [huge]'],
    window: 'open',
  },
  {
    rule: 'without a window, the budget counts per day from local midnight',
    users: { a: 400, b: 400 },
    limits: { budget: budget(500) },
    openings: ['now 500: [a]', '2026-11-24T00:00:00.000Z 500: [b]'],
  },
  {
    rule: 'the group limits still make the groups inside an opening',
    users: { a: 100, b: 100, c: 100 },
    limits: { groupSize: 2, window: parseDailyWindow('11:00-13:00'), budget: budget(1000) },
    openings: ['now 1000: [a b] [c]'],
    window: 'open',
  },
];

describe('bootstrap --dry-run groups: window and budget', () => {
  for (const c of cases) {
    test(c.rule, () => {
      const preview = previewBootstrap(sized(c.users), { ...LIMITS, ...c.limits }, NOW, 'UTC');
      assert.deepEqual(shape(preview), c.openings);
      if (c.window === undefined) assert.equal(preview.window, null);
      else if (c.window === 'open') assert.equal(preview.window?.open, true);
      else assert.equal(preview.window?.opensAt, at(c.window));
    });
  }
});
