// What `bootstrap --dry-run` and a bootstrap's left-over users print, for a closed window, an open one with
// a budget, and neither (unchanged). The windows are read in UTC, whatever the process's own zone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bootstrapDryRun, leftOverLines } from '../../src/cli/output/bootstrap-lines.js';
import { previewBootstrap } from '../../src/scheduler/plan/bootstrap-preview.js';
import type { BootstrapLimits, HeldUser } from '../../src/scheduler/plan/plan-types.js';
import { parseDailyWindow } from '../../src/units/daily-window.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const MiB = 1024 ** 2;
const base: BootstrapLimits = {
  groupSize: 2,
  maxGroupBytes: { value: 2 * 1024 ** 3, text: '2GiB' },
  order: 'smallest',
  groupInFlight: false,
  nextGroupAt: null,
  stagingShort: false,
  window: null,
  budget: null,
};
const users = [
  { userid: 'anne', server: 'imap1', sizeBytes: 1 * MiB },
  { userid: 'bob', server: 'imap1', sizeBytes: 2 * MiB },
  { userid: 'carl', server: 'imap1', sizeBytes: 3 * MiB },
];

function dryRun(limits: Partial<BootstrapLimits>, json = false): string {
  const all = { ...base, ...limits };
  const preview = previewBootstrap(users, all, NOW, 'UTC');
  return bootstrapDryRun(preview, { window: all.window, budget: all.budget?.maxBytes ?? null }, json);
}

describe('bootstrap --dry-run output', () => {
  test('without a window or budget: the groups alone, as always', () => {
    assert.equal(dryRun({}), 'group 1 (3.0MiB): anne@imap1, bob@imap1\ngroup 2 (3.0MiB): carl@imap1\n3 users in 2 groups\n');
  });

  test('a closed window: says so and when it opens, then the groups', () => {
    assert.equal(
      dryRun({ window: parseDailyWindow('01:00-05:00') }),
      [
        'bootstrap.window 01:00-05:00 is closed now: no first backup starts before it opens at 01:00 local time, 2026-11-24T01:00:00.000Z (13h from now)',
        'group 1 (3.0MiB): anne@imap1, bob@imap1',
        'group 2 (3.0MiB): carl@imap1',
        '3 users in 2 groups',
        '',
      ].join('\n'),
    );
  });

  test('an open window with a budget: which groups the current opening allows, which wait for later ones', () => {
    const out = dryRun({ window: parseDailyWindow('11:00-13:00'), budget: { maxBytes: { value: 4 * MiB, text: '4MiB' }, usedBytes: 1 * MiB } });
    assert.equal(
      out,
      [
        'bootstrap.window 11:00-13:00 is open now, until 13:00 local time, 2026-11-23T13:00:00.000Z (1h from now)',
        'now, while bootstrap.window is open, 3.0MiB left of bootstrap.maxBytesPerWindow 4MiB:',
        'group 1 (3.0MiB): anne@imap1, bob@imap1',
        'when bootstrap.window opens at 11:00 local time, 2026-11-24T11:00:00.000Z (23h from now), bootstrap.maxBytesPerWindow 4MiB:',
        'group 2 (3.0MiB): carl@imap1',
        '3 users in 2 groups; bootstrap.maxBytesPerWindow 4MiB leaves 1 group for 1 later opening',
        '',
      ].join('\n'),
    );
  });

  test('--json: each group says when it may start at the earliest (null: now)', () => {
    const out = dryRun({ window: parseDailyWindow('11:00-13:00'), budget: { maxBytes: { value: 4 * MiB, text: '4MiB' }, usedBytes: 0 } }, true);
    assert.deepEqual(
      out.trim().split('\n').map((l) => JSON.parse(l)),
      [
        { group: 1, users: ['anne', 'bob'], bytes: 3 * MiB, notBefore: null },
        { group: 2, users: ['carl'], bytes: 3 * MiB, notBefore: '2026-11-24T11:00:00.000Z' },
      ],
    );
  });
});

describe("bootstrap's left-over users", () => {
  test('users held in the same words make one line, the others one line each', () => {
    const window: Omit<HeldUser, 'userid'> = { reason: 'bootstrap-window', detail: 'bootstrap.window 01:00-05:00 is closed: first backups wait until it opens at 01:00 local time' };
    const held: HeldUser[] = [
      ...Array.from({ length: 12 }, (_, i) => ({ userid: `u${i + 1}`, ...window })),
      { userid: 'dora', reason: 'in-doubt', detail: 'its last XBACKUP timed out' },
    ];
    assert.equal(
      leftOverLines(held),
      'left for later: 12 users (u1, u2, u3, u4, u5, u6, u7, u8, u9, u10 and 2 more): bootstrap-window: bootstrap.window 01:00-05:00 is closed: first backups wait until it opens at 01:00 local time\n' +
        'left for later: dora: in-doubt: its last XBACKUP timed out\n',
    );
  });
});
