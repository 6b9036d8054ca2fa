import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planCycle } from '../../../src/scheduler/plan/plan-cycle.js';
import type { HoldReason, PlanInput } from '../../../src/scheduler/plan/plan-types.js';
import { GiB, H, NOW, planInput, seen, server, user } from './plan-fixtures.js';

interface RuleCase {
  rule: string;
  input: PlanInput;
  planned: string[];
  held: Record<string, HoldReason>;
  /** Words the held users' details must contain, by userid. */
  detail?: Record<string, RegExp>;
}

const oneMissing = (extra: Partial<PlanInput> = {}) =>
  planInput([user('anne', 'stale'), user('bob', 'missing', { mailBytes: 100 })], extra);

const rules: RuleCase[] = [
  {
    rule: 'stale users are refreshed; fresh users are not due and not listed',
    input: planInput([user('anne', 'stale'), user('bob', 'fresh')]),
    planned: ['anne refresh'],
    held: {},
  },
  {
    rule: 'refreshes go oldest first',
    input: planInput([user('a', 'stale', { age: 30 * H }), user('b', 'stale', { age: 90 * H }), user('c', 'failing', { age: 60 * H })]),
    planned: ['b refresh', 'c refresh', 'a refresh'],
    held: {},
  },
  {
    rule: 'users with messages not yet in their backups go first, most first; then those behind by flags only; then the oldest',
    input: planInput([
      user('a', 'stale', { age: 90 * H }),
      user('b', 'stale', { age: 30 * H, behind: { mailboxes: 1, messages: 3, bytes: null } }),
      user('c', 'stale', { age: 25 * H, behind: { mailboxes: 2, messages: 40, bytes: null } }),
      user('d', 'stale', { age: 60 * H, behind: { mailboxes: 1, messages: 0, bytes: 0 } }),
    ], { maxPerCycle: 3 }),
    planned: ['c refresh', 'b refresh', 'd refresh'],
    held: { a: 'max-per-cycle' },
    detail: { a: /taken by users with more messages at risk or older backups/ },
  },
  {
    rule: 'a fresh user past refreshFromAge is backed up ahead of maxAge; a younger one is not due',
    input: planInput([user('a', 'fresh', { age: 22 * H }), user('b', 'fresh', { age: 21 * H }), user('c', 'stale', { age: 30 * H })], { refreshFromAge: 22 * H }),
    planned: ['c refresh', 'a refresh'],
    held: {},
  },
  {
    rule: 'a failing user whose backoff has passed is refreshed',
    input: planInput([user('anne', 'failing')], { memory: new Map([['anne', { nextAttemptAt: NOW - 1 }]]) }),
    planned: ['anne refresh'],
    held: {},
  },
  {
    rule: 'any user with failures waits for its backoff (failing, stale or missing)',
    input: planInput([user('anne', 'failing'), user('bob', 'stale'), user('carl', 'missing')], {
      memory: new Map(['anne', 'bob', 'carl'].map((u) => [u, { nextAttemptAt: NOW + 2 * H }])),
    }),
    planned: [],
    held: { anne: 'backoff', bob: 'backoff', carl: 'backoff' },
    detail: { anne: /retry after 2026-11-23T14:00:00.000Z \(2h from now\)/ },
  },
  {
    rule: 'orphan, unreadable and conflict users are never backed up, only reported',
    input: planInput([
      user('old', 'orphan'),
      user('broken', 'unreadable', { error: 'index is not SQLite' }),
      user('twice', 'conflict', { error: 'found on imap1 and imap2' }),
    ]),
    planned: [],
    held: { old: 'not-backed-up-by-us', broken: 'not-backed-up-by-us', twice: 'not-backed-up-by-us' },
    detail: { broken: /unreadable: .*index is not SQLite/, twice: /conflict: found on imap1 and imap2/ },
  },
  {
    rule: 'in-doubt users wait: the server may still be backing them up',
    input: planInput([user('anne', 'stale', { inDoubt: true }), user('bob', 'missing', { inDoubt: true })]),
    planned: [],
    held: { anne: 'in-doubt', bob: 'in-doubt' },
  },
  {
    rule: 'users of a paused server wait until it is probed again; other servers go on',
    input: planInput([user('anne', 'stale'), user('bob', 'missing'), user('carl', 'stale', { server: 'imap2' })], {
      servers: [server('imap1', ['anne', 'bob'], { pausedUntil: NOW + 10 * 60_000 }), server('imap2', ['carl'])],
    }),
    planned: ['carl refresh'],
    held: { anne: 'server-paused', bob: 'server-paused' },
    detail: { anne: /imap1 is paused until 2026-11-23T12:10:00.000Z/ },
  },
  {
    rule: 'a pause that has ended holds no one',
    input: planInput([user('anne', 'stale')], { servers: [server('imap1', ['anne'], { pausedUntil: NOW })] }),
    planned: ['anne refresh'],
    held: {},
  },
  {
    rule: 'a user with an XBACKUP still running is not started twice',
    input: planInput([user('anne', 'stale'), user('bob', 'missing')], { inFlightUsers: new Set(['anne', 'bob']) }),
    planned: [],
    held: { anne: 'in-flight', bob: 'in-flight' },
  },
  {
    rule: 'a user whose backup ctl_backups is verifying or compacting waits for it (its lock); the others go',
    input: planInput([user('anne', 'stale'), user('bob', 'stale'), user('carl', 'damaged', { age: 30 * H })], { maintenanceUsers: new Set(['anne']), refreshFromAge: 24 * H }),
    planned: ['bob refresh', 'carl refresh'],
    held: { anne: 'maintenance' },
  },
  {
    rule: 'a damaged backup is still refreshed by age: what comes after the damage is worth having',
    input: planInput([user('anne', 'damaged', { age: 30 * H }), user('bob', 'damaged', { age: H })], { refreshFromAge: 24 * H }),
    planned: ['anne refresh'],
    held: {},
  },
  {
    rule: 'maxPerCycle counts refreshes first, oldest first, then first backups',
    input: planInput(
      [user('a', 'stale', { age: 30 * H }), user('b', 'stale', { age: 40 * H }), user('c', 'stale', { age: 50 * H }), user('m', 'missing')],
      { maxPerCycle: 2 },
    ),
    planned: ['c refresh', 'b refresh'],
    held: { a: 'max-per-cycle', m: 'max-per-cycle' },
  },
  {
    rule: 'maxPerCycle cuts the first-backup group short',
    input: planInput([user('a', 'stale'), user('m1', 'missing'), user('m2', 'missing'), user('m3', 'missing')], { maxPerCycle: 3 }),
    planned: ['a refresh', 'm1 first', 'm2 first'],
    held: { m3: 'max-per-cycle' },
    detail: { m3: /room for 2 first backups/ },
  },
  {
    rule: 'a refresh-only cycle plans no first backups and holds no one for it',
    input: planInput([user('anne', 'stale'), user('bob', 'missing')], { includeFirstBackups: false }),
    planned: ['anne refresh'],
    held: {},
  },
  {
    rule: 'first backups go in groups of bootstrap.groupSize, smallest first',
    input: planInput([user('big', 'missing', { mailBytes: 900 }), user('small', 'missing', { mailBytes: 10 }), user('mid', 'missing', { mailBytes: 50 })], {
      bootstrap: { ...planInput([]).bootstrap, groupSize: 2 },
    }),
    planned: ['small first', 'mid first'],
    held: { big: 'bootstrap-group-full' },
    detail: { big: /2 users \(bootstrap.groupSize 2\)/ },
  },
  {
    rule: 'a group stays within bootstrap.maxGroupBytes',
    input: planInput([user('a', 'missing', { mailBytes: GiB }), user('b', 'missing', { mailBytes: GiB / 2 }), user('c', 'missing', { mailBytes: GiB })]),
    planned: ['b first', 'a first'],
    held: { c: 'bootstrap-group-full' },
    detail: { c: /1\.5GiB, and c \(1\.0GiB\) would take it over bootstrap.maxGroupBytes 2GiB$/ },
  },
  {
    rule: 'a held group says bootstrap.maxGroupBytes as it was configured (12MB), not converted (11MiB)',
    input: planInput([user('a', 'missing', { mailBytes: 8_000_000 }), user('b', 'missing', { mailBytes: 9_000_000 })], {
      bootstrap: { ...planInput([]).bootstrap, maxGroupBytes: { value: 12_000_000, text: '12MB' } },
    }),
    planned: ['a first'],
    held: { b: 'bootstrap-group-full' },
    detail: { b: /would take it over bootstrap\.maxGroupBytes 12MB$/ },
  },
  {
    rule: 'a user larger than bootstrap.maxGroupBytes makes a group of its own',
    input: planInput([user('huge', 'missing', { mailBytes: 5 * GiB }), user('tiny', 'missing', { mailBytes: 1 })], {
      bootstrap: { ...planInput([]).bootstrap, order: 'largest' },
    }),
    planned: ['huge first'],
    held: { tiny: 'bootstrap-group-full' },
    detail: { tiny: /huge \(5\.0GiB\) is larger than bootstrap.maxGroupBytes/ },
  },
  {
    rule: 'unknown sizes count as 0, come last in size order, and the held detail says so',
    input: planInput([user('u1', 'missing'), user('u2', 'missing'), user('k', 'missing', { mailBytes: 10 })], {
      bootstrap: { ...planInput([]).bootstrap, groupSize: 2 },
    }),
    planned: ['k first', 'u1 first'],
    held: { u2: 'bootstrap-group-full' },
    detail: { u2: /size of 1 of its users is unknown and counted as 0/ },
  },
  {
    rule: "bootstrap.order: name",
    input: planInput([user('zed', 'missing', { mailBytes: 1 }), user('amy', 'missing', { mailBytes: 9 })], {
      bootstrap: { ...planInput([]).bootstrap, order: 'name', groupSize: 1 },
    }),
    planned: ['amy first'],
    held: { zed: 'bootstrap-group-full' },
  },
  {
    rule: 'no new group while one is in flight; refreshes go on',
    input: oneMissing({ bootstrap: { ...planInput([]).bootstrap, groupInFlight: true } }),
    planned: ['anne refresh'],
    held: { bob: 'bootstrap-group-in-flight' },
  },
  {
    rule: 'no new group before bootstrap.pause has passed',
    input: oneMissing({ bootstrap: { ...planInput([]).bootstrap, nextGroupAt: NOW + 30_000 } }),
    planned: ['anne refresh'],
    held: { bob: 'bootstrap-pause' },
    detail: { bob: /after 2026-11-23T12:00:30.000Z \(30s from now/ },
  },
  {
    rule: 'a group starts once its pause has passed',
    input: oneMissing({ bootstrap: { ...planInput([]).bootstrap, nextGroupAt: NOW } }),
    planned: ['anne refresh', 'bob first'],
    held: {},
  },
  {
    rule: 'no new group while the staging path is short of space',
    input: oneMissing({ bootstrap: { ...planInput([]).bootstrap, stagingShort: true } }),
    planned: ['anne refresh'],
    held: { bob: 'staging-space' },
  },
  {
    rule: 'a failing user that was never backed up stays a first backup',
    input: planInput([user('anne', 'failing', { age: null })]),
    planned: ['anne first'],
    held: {},
  },
  {
    rule: 'a due user on no server of this cycle is held, not dropped',
    input: planInput([user('anne', 'stale', { server: null }), user('bob', 'stale', { server: 'gone' })]),
    planned: [],
    held: { anne: 'server-unknown', bob: 'server-unknown' },
    detail: { bob: /gone is not among the servers/ },
  },
  {
    rule: 'a userid with a space is planned like any other (Cyrus holds it, a quoted pattern names it)',
    input: planInput([user('anne smith', 'stale'), user(' lead', 'missing', { mailBytes: 1 })]),
    planned: ['anne smith refresh', ' lead first'],
    held: {},
  },
  {
    rule: 'a userid XBACKUP cannot name alone, or whose answer cannot be read, is never planned, and says why',
    input: planInput([user('a*b', 'stale'), user('trail ', 'stale')]),
    planned: [],
    held: { 'a*b': 'not-backed-up-by-us', 'trail ': 'not-backed-up-by-us' },
    detail: {
      'a*b': /cannot be sent in an XBACKUP command: it contains '\*'; Cyrus allows it in a userid, but XBACKUP reads every '\*' as a wildcard/,
      'trail ': /cannot be sent in an XBACKUP command: it ends with a space/,
    },
  },
  {
    rule: 'the first limit that applies is the one shown: in-flight, in-doubt, server-paused, backoff',
    input: planInput([user('a', 'stale', { inDoubt: true }), user('b', 'stale', { inDoubt: true }), user('c', 'stale')], {
      inFlightUsers: new Set(['a']),
      servers: [server('imap1', ['a', 'b', 'c'], { pausedUntil: NOW + H })],
      memory: new Map(['a', 'b', 'c'].map((u) => [u, { nextAttemptAt: NOW + H }])),
    }),
    planned: [],
    held: { a: 'in-flight', b: 'in-doubt', c: 'server-paused' },
  },
];

describe('planCycle rules (spec §4, §5)', () => {
  for (const { rule, input, planned, held, detail } of rules) {
    test(rule, () => {
      const plan = planCycle(input);
      assert.deepEqual(seen(plan), { planned, held });
      for (const [userid, words] of Object.entries(detail ?? {})) {
        assert.match(plan.held.find((h) => h.userid === userid)!.detail, words);
      }
    });
  }
});

describe('planCycle output', () => {
  test('planned users carry their state, age, server and kind, in execution order', () => {
    const plan = planCycle(planInput([user('anne', 'stale', { age: 30 * H }), user('bob', 'missing', { mailBytes: 7 })]));
    assert.deepEqual(plan.planned, [
      { userid: 'anne', server: 'imap1', state: 'stale', age: 30 * H, kind: 'refresh' },
      { userid: 'bob', server: 'imap1', state: 'missing', age: null, kind: 'first' },
    ]);
    assert.deepEqual(plan.firstGroup, { users: [{ userid: 'bob', server: 'imap1', sizeBytes: 7 }], bytes: 7 });
  });

  test('first backups never go into a batch pattern, even when every other user is due', () => {
    const plan = planCycle(planInput([user('s1', 'stale'), user('s2', 'stale'), user('s3', 'missing'), user('s4', 'stale')]));
    assert.deepEqual(
      plan.refreshes.map((c) => [c.pattern, c.userids]),
      [
        ['user.s1', ['s1']],
        ['user.s2', ['s2']],
        ['user.s4', ['s4']],
      ],
    );
    assert.deepEqual(plan.firstGroup?.users.map((u) => u.userid), ['s3']);
  });

  test('users with spaces and other characters Cyrus allows are batched, and no pattern reaches those it cannot name', () => {
    const due = ['a b', 'a c', 'a#1', 'a#2', 'b (x)', 'b (y)'];
    const plan = planCycle(planInput([...due, 'a*b', 'b (x) '].map((id) => user(id, 'stale'))));
    assert.deepEqual(
      plan.refreshes.map((c) => [c.pattern, c.userids.sort()]),
      [
        ['user.a *', ['a b', 'a c']],
        ['user.a#*', ['a#1', 'a#2']],
        ['user.b (x)', ['b (x)']],
        ['user.b (y)', ['b (y)']],
      ],
    );
  });

  test('a user held by maxPerCycle is not swept in by a pattern either', () => {
    const users = ['s1', 's2', 's3'].map((id, i) => user(id, 'stale', { age: (10 - i) * H }));
    const plan = planCycle(planInput(users, { maxPerCycle: 2 }));
    assert.deepEqual(
      plan.refreshes.map((c) => c.pattern),
      ['user.s1', 'user.s2'],
    );
  });

  test('commands come in the order of the oldest user each holds, across servers', () => {
    const users = [
      user('a1', 'stale', { age: 30 * H }),
      user('a2', 'stale', { age: 31 * H }),
      user('b1', 'stale', { age: 50 * H, server: 'imap2' }),
      user('c1', 'stale', { age: 40 * H }),
    ];
    const plan = planCycle(
      planInput(users, { servers: [server('imap1', ['a1', 'a2', 'c1', 'fresh1']), server('imap2', ['b1'])] }),
    );
    assert.deepEqual(
      plan.refreshes.map((c) => [c.server, c.pattern, c.userids]),
      [
        ['imap2', 'user.b1', ['b1']],
        ['imap1', 'user.c1', ['c1']],
        ['imap1', 'user.a*', ['a2', 'a1']],
      ],
    );
  });

  test('the new first-backup group takes its slots before refreshes are spread', () => {
    // 1000 due users and 2 connections: the batch is split to use both, unless the group has one.
    const users = Array.from({ length: 1000 }, (_, i) => user(`s${String(i).padStart(3, '0')}`, 'stale'));
    const withGroup = [...users, user('new', 'missing')];
    const servers = (ids: string[]) => [server('imap1', ids, { maxConcurrent: 2 })];
    const alone = planCycle(planInput(users, { servers: servers(users.map((u) => u.userid)), maxPerCycle: 5000 }));
    const shared = planCycle(planInput(withGroup, { servers: servers(withGroup.map((u) => u.userid)), maxPerCycle: 5000 }));
    assert.ok(alone.refreshes.length >= 2, `split over 2 slots: ${alone.refreshes.map((c) => c.pattern).join(' ')}`);
    assert.deepEqual(
      shared.refreshes.map((c) => c.pattern),
      ['user.s*'],
    );
  });
});

describe('shared mailboxes (%SHARED)', () => {
  const shared = ['lists.cyrus', 'shared', 'shared.news'];
  const withShared = (state: 'missing' | 'stale' | 'failing' | 'fresh') =>
    planInput([user('%SHARED', state), user('anne', 'stale'), user('bob', 'stale')], { servers: [server('imap1', ['anne', 'bob'], { sharedMailboxes: shared })] });

  for (const state of ['missing', 'stale', 'failing'] as const) {
    test(`${state}: one command of its own, one XBACKUP per shared mailbox, never inside a user pattern or a first-backup group`, () => {
      const plan = planCycle(withShared(state));
      const command = plan.refreshes.find((c) => c.userids.includes('%SHARED'))!;
      assert.deepEqual(command, { server: 'imap1', pattern: 'lists.cyrus', userids: ['%SHARED'], kind: 'refresh', mailboxes: shared });
      assert.ok(plan.refreshes.filter((c) => c !== command).every((c) => !c.userids.includes('%SHARED') && c.mailboxes === undefined));
      assert.equal(plan.firstGroup, null);
    });
  }

  test('fresh: nothing to do', () => {
    assert.ok(planCycle(withShared('fresh')).refreshes.every((c) => !c.userids.includes('%SHARED')));
  });

  test('a server that listed none this cycle holds it, saying so', () => {
    const plan = planCycle(planInput([user('%SHARED', 'stale')], { servers: [server('imap1', [])] }));
    assert.deepEqual(plan.held.map((h) => [h.userid, h.reason]), [['%SHARED', 'server-unknown']]);
  });
});
