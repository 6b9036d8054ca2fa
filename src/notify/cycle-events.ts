// Which events one cycle produced: a pure function of what was known before it and after it.
import type { UserState } from '../staleness/user-state.js';
import type { CycleResult } from '../scheduler/cycle-result.js';
import type { NotifyEvent } from './event.js';

export interface WatchedUser {
  state: UserState;
  server: string | null;
  error: string | null;
}

export interface WatchedServer {
  /**
   * The circuit breaker is open: a command failed and none has reached the server and its backupd since.
   * Not "its pause has not ended": between probes the server is no better, and an event per probe would flap.
   */
  paused: boolean;
  pausedUntil: number | null;
  error: string | null;
}

export interface Watched {
  /** null before any classification (a cycle that failed before it looked): then no user event. */
  users: ReadonlyMap<string, WatchedUser> | null;
  servers: ReadonlyMap<string, WatchedServer>;
}

export interface CycleFacts {
  result: CycleResult;
  error: string | null;
  startedAt: number;
  attempted: number;
  failed: number;
  /** The first-backup group this cycle ran to its end, if any. */
  group: { id: number; users: number; ok: number; failed: number } | null;
}

/** The states a user is reported into; leaving them for any other is `user.recovered`. */
const BAD: ReadonlySet<UserState> = new Set(['failing', 'unreadable', 'damaged']);

/**
 * Servers first (a paused server explains the users failing with it), then users by userid, the group,
 * and the cycle. A user seen for the first time has no previous state and raises nothing; one gone
 * from the fleet raises nothing either.
 */
export function cycleEvents(before: Watched, after: Watched, cycle: CycleFacts): NotifyEvent[] {
  const events: NotifyEvent[] = [];
  const names = [...new Set([...before.servers.keys(), ...after.servers.keys()])].sort();
  for (const server of names) {
    const was = before.servers.get(server);
    const now = after.servers.get(server);
    if (now?.paused && !was?.paused) events.push({ kind: 'server.paused', server, error: now.error, pausedUntil: now.pausedUntil });
    else if (was?.paused && !now?.paused) events.push({ kind: 'server.back', server, previousError: was.error });
  }
  if (before.users && after.users) {
    for (const userid of [...after.users.keys()].sort()) {
      const now = after.users.get(userid)!;
      const was = before.users.get(userid);
      if (!was || was.state === now.state) continue;
      const change = { userid, server: now.server, state: now.state, previousState: was.state, error: now.error };
      if (now.state === 'failing') events.push({ kind: 'user.failing', ...change });
      else if (now.state === 'unreadable') events.push({ kind: 'user.unreadable', ...change });
      else if (now.state === 'damaged') events.push({ kind: 'user.damaged', ...change });
      else if (BAD.has(was.state)) events.push({ kind: 'user.recovered', ...change, error: null });
    }
  }
  if (cycle.group) {
    const remaining = after.users ? [...after.users.values()].filter((u) => u.state === 'missing').length : null;
    events.push({ kind: 'bootstrap.group-finished', group: cycle.group.id, users: cycle.group.users, ok: cycle.group.ok, failed: cycle.group.failed, remaining });
  }
  if (cycle.result !== 'success') {
    events.push({ kind: 'cycle.failed', result: cycle.result, error: cycle.error, attempted: cycle.attempted, failed: cycle.failed, startedAt: cycle.startedAt });
  }
  return events;
}
