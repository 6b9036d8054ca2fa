import type { Classification, UserStatus } from './classify.js';

/**
 * The users as classified at `classifiedAt`, seen at `now`: every age has grown by the time since, and a
 * fresh user whose age has since reached maxAge is stale, the answer an admin asking now expects. Every
 * other state (missing, failing, ...) stands as the classifier decided it: only a cycle learns more.
 * Pure, so that /status, /metrics and the status page answer with the ages of the moment they are asked.
 */
export function classificationAt(classification: Classification, classifiedAt: number, now: number, maxAge: number): Classification {
  // A clock stepped back does not make backups younger than the classifier saw them.
  const since = Math.max(0, now - classifiedAt);
  if (since === 0) return classification;
  return { coverage: classification.coverage, users: classification.users.map((u) => userAt(u, since, maxAge)) };
}

function userAt(u: UserStatus, since: number, maxAge: number): UserStatus {
  if (u.age === null && u.realAge === null) return u;
  const age = u.age === null ? null : u.age + since;
  const state = u.state === 'fresh' && age !== null && age >= maxAge ? 'stale' : u.state;
  return { ...u, state, age, realAge: u.realAge === null ? null : u.realAge + since };
}
