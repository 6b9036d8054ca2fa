import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cycleEvents, type CycleFacts, type Watched, type WatchedServer, type WatchedUser } from '../../src/notify/cycle-events.js';
import type { UserState } from '../../src/staleness/user-state.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const OK: CycleFacts = { result: 'success', error: null, startedAt: T0, attempted: 0, failed: 0, group: null };

const users = (states: Record<string, UserState>): Map<string, WatchedUser> =>
  new Map(Object.entries(states).map(([userid, state]) => [userid, { state, server: 'imap1', error: state === 'failing' || state === 'unreadable' || state === 'damaged' ? `${userid}: broken` : null }]));
const servers = (paused: Record<string, boolean>): Map<string, WatchedServer> =>
  new Map(Object.entries(paused).map(([name, p]) => [name, { paused: p, pausedUntil: p ? T0 + 60_000 : null, error: p ? 'NO Retry operation' : null }]));
const watched = (u: Record<string, UserState> | null, s: Record<string, boolean> = {}): Watched => ({ users: u && users(u), servers: servers(s) });

/** Each event as one short string: kind and subject (and the previous state for users). */
function brief(before: Watched, after: Watched, cycle: CycleFacts = OK): string[] {
  return cycleEvents(before, after, cycle).map((e) => {
    switch (e.kind) {
      case 'user.failing':
      case 'user.unreadable':
      case 'user.damaged':
      case 'user.recovered':
        return `${e.kind} ${e.userid} ${e.previousState}→${e.state}`;
      case 'server.paused':
      case 'server.back':
        return `${e.kind} ${e.server}`;
      case 'bootstrap.group-finished':
        return `${e.kind} ${e.group} ${e.ok}/${e.users} remaining ${e.remaining}`;
      case 'cycle.failed':
        return `${e.kind} ${e.result}`;
    }
  });
}

describe('cycleEvents: what a cycle produced, from before and after', () => {
  const cases: Array<[string, Watched, Watched, CycleFacts, string[]]> = [
    ['nothing changed', watched({ a: 'fresh' }, { imap1: false }), watched({ a: 'fresh' }, { imap1: false }), OK, []],
    ['a user turns failing', watched({ a: 'stale' }), watched({ a: 'failing' }), OK, ['user.failing a stale→failing']],
    ['a user turns unreadable', watched({ a: 'fresh' }), watched({ a: 'unreadable' }), OK, ['user.unreadable a fresh→unreadable']],
    ['failing to unreadable is the new trouble', watched({ a: 'failing' }), watched({ a: 'unreadable' }), OK, ['user.unreadable a failing→unreadable']],
    ['unreadable to failing likewise', watched({ a: 'unreadable' }), watched({ a: 'failing' }), OK, ['user.failing a unreadable→failing']],
    ['a user turns damaged (Cyrus\'s deep verification found its backup wrong)', watched({ a: 'fresh' }), watched({ a: 'damaged' }), OK, ['user.damaged a fresh→damaged']],
    ['failing to damaged is the new trouble', watched({ a: 'failing' }), watched({ a: 'damaged' }), OK, ['user.damaged a failing→damaged']],
    ['damaged stays damaged: nothing', watched({ a: 'damaged' }), watched({ a: 'damaged' }), OK, []],
    ['damaged to fresh (a new backup, verified whole): recovered', watched({ a: 'damaged' }), watched({ a: 'fresh' }), OK, ['user.recovered a damaged→fresh']],
    ['failing stays failing: nothing', watched({ a: 'failing' }), watched({ a: 'failing' }), OK, []],
    ['failing back to fresh: recovered', watched({ a: 'failing' }), watched({ a: 'fresh' }), OK, ['user.recovered a failing→fresh']],
    ['unreadable to stale: recovered', watched({ a: 'unreadable' }), watched({ a: 'stale' }), OK, ['user.recovered a unreadable→stale']],
    ['fresh to stale, missing to fresh: not told', watched({ a: 'fresh', b: 'missing' }), watched({ a: 'stale', b: 'fresh' }), OK, []],
    ['a user seen for the first time raises nothing', watched({}), watched({ a: 'failing' }), OK, []],
    ['a user gone raises nothing', watched({ a: 'failing' }), watched({}), OK, []],
    ['no classification yet: no user event', watched(null), watched({ a: 'failing' }), OK, []],
    ['none after (the cycle failed before it looked): no user event', watched({ a: 'fresh' }), watched(null), OK, []],
    ['users in userid order', watched({ b: 'fresh', a: 'fresh' }), watched({ b: 'failing', a: 'failing' }), OK, ['user.failing a fresh→failing', 'user.failing b fresh→failing']],
    ['a server paused', watched({}, { imap1: false }), watched({}, { imap1: true }), OK, ['server.paused imap1']],
    ['a server never seen before is paused', watched({}, {}), watched({}, { imap1: true }), OK, ['server.paused imap1']],
    ['a server stays paused across probes: nothing', watched({}, { imap1: true }), watched({}, { imap1: true }), OK, []],
    ['a server back', watched({}, { imap1: true }), watched({}, { imap1: false }), OK, ['server.back imap1']],
    [
      'servers first, then users',
      watched({ a: 'fresh' }, { imap2: false, imap1: false }),
      watched({ a: 'failing' }, { imap2: true, imap1: true }),
      OK,
      ['server.paused imap1', 'server.paused imap2', 'user.failing a fresh→failing'],
    ],
    [
      'a group finished, with the users still missing after it',
      watched({ a: 'missing', b: 'missing', c: 'missing' }),
      watched({ a: 'fresh', b: 'failing', c: 'missing' }),
      { ...OK, attempted: 2, failed: 1, group: { id: 4, users: 2, ok: 1, failed: 1 } },
      ['user.failing b missing→failing', 'bootstrap.group-finished 4 1/2 remaining 1'],
    ],
    ['a group finished before any classification: remaining unknown', watched(null), watched(null), { ...OK, group: { id: 1, users: 1, ok: 1, failed: 0 } }, ['bootstrap.group-finished 1 1/1 remaining null']],
    ['a cycle that could not run', watched({}), watched(null), { ...OK, result: 'error', error: 'backups.db: CRC mismatch' }, ['cycle.failed error']],
    ['a cycle that left due work undone', watched({}), watched({}), { ...OK, result: 'failure', attempted: 3, failed: 3 }, ['cycle.failed failure']],
  ];
  for (const [name, before, after, cycle, expected] of cases) {
    test(name, () => assert.deepEqual(brief(before, after, cycle), expected));
  }

  test('the events carry what a receiver needs', () => {
    const [paused, failing] = cycleEvents(watched({ a: 'fresh' }, { imap1: false }), watched({ a: 'failing' }, { imap1: true }), OK);
    assert.deepEqual(paused, { kind: 'server.paused', server: 'imap1', error: 'NO Retry operation', pausedUntil: T0 + 60_000 });
    assert.deepEqual(failing, { kind: 'user.failing', userid: 'a', server: 'imap1', state: 'failing', previousState: 'fresh', error: 'a: broken' });
    const [back] = cycleEvents(watched({}, { imap1: true }), watched({}, { imap1: false }), OK);
    assert.deepEqual(back, { kind: 'server.back', server: 'imap1', previousError: 'NO Retry operation' });
  });
});
