// Properties of whole cycles over random fleets: whatever the fleet, no XBACKUP pattern touches a
// user it must not, and every user the plan backs up is backed up exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeModifiedUtf7 } from '../../../src/cyrus-names/modified-utf7.js';
import { useridToMailbox } from '../../../src/imap/mailbox-names.js';
import { validateUserid } from '../../../src/imap/wire-validation.js';
import { mailboxPatternMatches } from '../../support/cyrus-glob.js';
import { planCycle } from '../../../src/scheduler/plan/plan-cycle.js';
import type { PlanInput, PlanServer } from '../../../src/scheduler/plan/plan-types.js';
import { USER_STATES, type UserState } from '../../../src/staleness/user-state.js';
import { DOT, H, NOW, planInput, SLASH, user } from './plan-fixtures.js';

// A small alphabet, so that userids share prefixes (s, s1, s1.a, s1@ex.org) and runs of
// modified UTF-7 (é, è) and '&' are common.
const localPart = fc.array(fc.constantFrom('s', 's', 'a', '1', '2', '.', 'é', 'è', '&'), { minLength: 1, maxLength: 5 }).map((c) => c.join(''));
const userid = fc
  .tuple(localPart, fc.option(fc.constantFrom('example.com', 'example.org', 'ex.org'), { nil: undefined }))
  .map(([local, domain]) => (domain === undefined ? local : `${local}@${domain}`))
  .filter((id) => {
    try {
      validateUserid(id);
      return true;
    } catch {
      return false;
    }
  });

const rarely = fc.integer({ min: 0, max: 11 }).map((n) => n === 0);

const fleetUser = fc.record({
  userid,
  // Mostly due users, so that whole subtrees are due and wildcards are tried; every state occurs.
  state: fc.oneof({ weight: 8, arbitrary: fc.constant<UserState>('stale') }, { weight: 3, arbitrary: fc.constantFrom(...USER_STATES) }),
  age: fc.option(fc.integer({ min: 0, max: 100 }).map((hours) => hours * H), { nil: null, freq: 6 }),
  inDoubt: rarely,
  /** An XBACKUP of the user, or a ctl_backups run on its backup, under way. */
  inFlight: fc.constantFrom<null | 'xbackup' | 'maintenance'>(...Array<null>(10).fill(null), 'xbackup', 'maintenance'),
  nextAttemptAt: fc.constantFrom(null, null, null, null, null, null, NOW - 1, NOW + H),
  server: fc.constantFrom('imap1', 'imap2'),
  /** On the server, but outside its servers[].users: the planner never sees it as a user. */
  excluded: rarely,
});

const fleetServer = (name: string) =>
  fc.record({
    naming: fc.constantFrom(DOT, SLASH),
    maxConcurrent: fc.integer({ min: 1, max: 4 }),
    inFlight: fc.integer({ min: 0, max: 2 }),
    paused: rarely,
  }).map(({ paused, ...rest }): Omit<PlanServer, 'allUserids'> => ({ name, pausedUntil: paused ? NOW + H : null, sharedMailboxes: [], ...rest }));

const fleet = fc
  .record({
    users: fc.uniqueArray(fleetUser, { selector: (u) => u.userid, maxLength: 80 }),
    servers: fc.tuple(fleetServer('imap1'), fleetServer('imap2')),
    maxPerCycle: fc.integer({ min: 0, max: 90 }),
    groupSize: fc.integer({ min: 1, max: 6 }),
    includeFirstBackups: fc.boolean(),
  })
  .map((f): PlanInput => {
    const statuses = f.users.filter((u) => !u.excluded).map((u) => user(u.userid, u.state, { age: u.age, inDoubt: u.inDoubt, server: u.server }));
    return planInput(statuses, {
      servers: f.servers.map((s) => ({ ...s, allUserids: f.users.filter((u) => u.server === s.name).map((u) => u.userid) })),
      memory: new Map(f.users.map((u) => [u.userid, { nextAttemptAt: u.nextAttemptAt }])),
      inFlightUsers: new Set(f.users.filter((u) => u.inFlight === 'xbackup').map((u) => u.userid)),
      maintenanceUsers: new Set(f.users.filter((u) => u.inFlight === 'maintenance').map((u) => u.userid)),
      maxPerCycle: f.maxPerCycle,
      includeFirstBackups: f.includeFirstBackups,
      bootstrap: { ...planInput([]).bootstrap, groupSize: f.groupSize },
    });
  });

/** May this user be in a refresh command of this cycle, on this server? */
function mayRefresh(input: PlanInput, userid: string, server: PlanServer): boolean {
  const status = input.users.find((u) => u.userid === userid);
  if (!status || status.server !== server.name || status.inDoubt || input.inFlightUsers.has(userid) || input.maintenanceUsers.has(userid)) return false;
  const damagedDue = status.state === 'damaged' && (status.age === null || status.age >= input.refreshFromAge);
  if (!(status.state === 'stale' || (status.state === 'failing' && status.age !== null) || damagedDue)) return false;
  const nextAttemptAt = input.memory.get(userid)?.nextAttemptAt ?? null;
  return (server.pausedUntil === null || server.pausedUntil <= input.now) && (nextAttemptAt === null || nextAttemptAt <= input.now);
}

test('no batch pattern touches a user it must not, and every planned user is covered exactly once', () => {
  fc.assert(
    fc.property(fleet, (input) => {
      const plan = planCycle(input);
      const servers = new Map(input.servers.map((s) => [s.name, s]));
      for (const command of plan.refreshes) {
        const server = servers.get(command.server)!;
        const sep = server.naming.separator;
        assert.ok(command.userids.length > 0, `${command.pattern} is not empty`);
        const touched = server.allUserids.filter((id) => mailboxPatternMatches(command.pattern, useridToMailbox(id, server.naming), server.naming));
        assert.deepEqual(touched.sort(), [...command.userids].sort(), `${command.pattern} matches exactly the users it lists`);
        for (const id of command.userids) assert.ok(mayRefresh(input, id, server), `${id} may be refreshed now (${command.pattern})`);
        assert.ok(command.pattern.startsWith(`user${sep}`) && command.pattern.length > `user${sep}`.length, command.pattern);
        if (command.pattern.endsWith('*')) {
          assert.ok(command.userids.length >= 2, `a wildcard for one user only: ${command.pattern}`);
          assert.doesNotThrow(() => decodeModifiedUtf7(command.pattern.slice(0, -1)), `${command.pattern} cuts a modified UTF-7 run`);
        }
      }
      const refreshed = plan.refreshes.flatMap((c) => c.userids);
      assert.equal(new Set(refreshed).size, refreshed.length, 'no user in two commands');
      assert.deepEqual(
        plan.planned.filter((p) => p.kind === 'refresh').map((p) => p.userid),
        refreshed,
        'planned refreshes are the commands’ users, in order',
      );
      assert.ok(plan.planned.length <= Math.max(0, input.maxPerCycle), 'maxPerCycle');
      for (const first of plan.firstGroup?.users ?? []) assert.ok(!refreshed.includes(first.userid), `${first.userid} is a first backup`);
    }),
    { numRuns: 400 },
  );
});

test('every due user is either planned or held, once; users that are not due are neither', () => {
  fc.assert(
    fc.property(fleet, (input) => {
      const plan = planCycle(input);
      const planned = plan.planned.map((p) => p.userid);
      const held = plan.held.map((h) => h.userid);
      assert.equal(new Set([...planned, ...held]).size, planned.length + held.length, 'nobody listed twice');
      for (const u of input.users) {
        const notDue =
          u.state === 'fresh' ||
          (u.state === 'damaged' && u.age !== null && u.age < input.refreshFromAge) ||
          (!input.includeFirstBackups && (u.state === 'missing' || (u.state === 'failing' && u.age === null)));
        assert.equal(planned.includes(u.userid) || held.includes(u.userid), !notDue, `${u.userid} (${u.state})`);
      }
    }),
    { numRuns: 300 },
  );
});
