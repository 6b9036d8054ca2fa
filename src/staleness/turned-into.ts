import type { Classification } from './classify.js';
import type { UserState } from './user-state.js';

/**
 * The users now in one of `states` who were not in it `before`, by state (only states someone turned into).
 * Without a `before` (the first look after a start) everyone in those states is counted: a restart says
 * again who is failing.
 */
export function turnedInto(before: Classification | null, after: Classification, states: readonly UserState[]): Map<UserState, string[]> {
  const was = new Map(before?.users.map((u) => [u.userid, u.state]) ?? []);
  const turned = new Map<UserState, string[]>();
  for (const u of after.users) {
    if (!states.includes(u.state) || was.get(u.userid) === u.state) continue;
    turned.set(u.state, [...(turned.get(u.state) ?? []), u.userid]);
  }
  return turned;
}
