// One event as it goes out: the webhook's JSON body (version 1) and, from the same fields, the
// environment of the exec hook. The README's "Notifications" section documents this shape.
import type { NotifyEventKind } from '../config/notify.js';
import type { UserState } from '../staleness/user-state.js';
import { isoOrNull, isoTime } from '../units/time.js';
import type { CycleResult } from '../scheduler/cycle-result.js';

/** Bumped when a field changes meaning or goes away; new fields may come without a bump. */
export const EVENT_BODY_VERSION = 1;

/** An error text from an IMAP server goes out at most this long: a body stays small whatever a server said. */
const MAX_ERROR_CHARS = 1000;


export type NotifyEvent =
  | { kind: 'user.failing' | 'user.unreadable' | 'user.damaged' | 'user.recovered'; userid: string; server: string | null; state: UserState; previousState: UserState; error: string | null }
  | { kind: 'server.paused'; server: string; error: string | null; pausedUntil: number | null }
  | { kind: 'server.back'; server: string; previousError: string | null }
  | { kind: 'bootstrap.group-finished'; group: number; users: number; ok: number; failed: number; remaining: number | null }
  | { kind: 'cycle.failed'; result: Exclude<CycleResult, 'success'>; error: string | null; attempted: number; failed: number; startedAt: number };

// Every kind the config accepts has a shape here, and no other: a kind added on one side only does not compile.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const KINDS_MATCH: Same<NotifyEvent['kind'], NotifyEventKind> = true;
void KINDS_MATCH;

export type EventBody = Record<string, string | number | null> & { version: number; event: NotifyEventKind; at: string; host: string; summary: string };

const short = (text: string | null): string | null => (text === null || text.length <= MAX_ERROR_CHARS ? text : `${text.slice(0, MAX_ERROR_CHARS)}…`);

/** One line for a person: a chat message, a mail subject. */
export function eventSummary(e: NotifyEvent): string {
  switch (e.kind) {
    case 'user.failing':
      return `${e.userid} is failing${e.server ? ` on ${e.server}` : ''} (was ${e.previousState})${e.error ? `: ${short(e.error)}` : ''}`;
    case 'user.unreadable':
      return `${e.userid}'s backup is unreadable (was ${e.previousState})${e.error ? `: ${short(e.error)}` : ''}`;
    case 'user.damaged':
      return `${e.userid}'s backup is damaged (was ${e.previousState})${e.error ? `: ${short(e.error)}` : ''}`;
    case 'user.recovered':
      return `${e.userid} is ${e.state} again (was ${e.previousState})`;
    case 'server.paused':
      return `server ${e.server} paused by its circuit breaker${e.pausedUntil === null ? '' : `, next probe at ${isoTime(e.pausedUntil)}`}${e.error ? `: ${short(e.error)}` : ''}`;
    case 'server.back':
      return `server ${e.server} is back: a backup reached it and its backupd again`;
    case 'bootstrap.group-finished':
      return `first-backup group ${e.group} finished: ${e.ok} ok, ${e.failed} failed${e.remaining === null ? '' : `, ${e.remaining} ${e.remaining === 1 ? 'user' : 'users'} still without a backup`}`;
    case 'cycle.failed':
      return e.result === 'error' ? `a cycle could not run: ${short(e.error) ?? 'unknown error'}` : `a cycle left due work undone: ${e.failed} of ${e.attempted} attempts failed`;
  }
}

/** The webhook's JSON body: `version`, `event`, `at`, `host`, `summary`, then the event's own fields (times as ISO-8601). */
export function eventBody(e: NotifyEvent, at: number, host: string): EventBody {
  const head = { version: EVENT_BODY_VERSION, event: e.kind, at: isoTime(at), host, summary: eventSummary(e) };
  switch (e.kind) {
    case 'user.failing':
    case 'user.unreadable':
    case 'user.damaged':
    case 'user.recovered':
      return { ...head, userid: e.userid, server: e.server, state: e.state, previousState: e.previousState, error: short(e.error) };
    case 'server.paused':
      return { ...head, server: e.server, pausedUntil: isoOrNull(e.pausedUntil), error: short(e.error) };
    case 'server.back':
      return { ...head, server: e.server, previousError: short(e.previousError) };
    case 'bootstrap.group-finished':
      return { ...head, group: e.group, users: e.users, ok: e.ok, failed: e.failed, remaining: e.remaining };
    case 'cycle.failed':
      return { ...head, result: e.result, error: short(e.error), attempted: e.attempted, failed: e.failed, startedAt: isoTime(e.startedAt) };
  }
}

/**
 * The exec hook's environment from a body: `XBS_EVENT`, `XBS_SUMMARY`, ..., one variable per field,
 * its name the field's in upper snake case (`previousState` → `XBS_PREVIOUS_STATE`), null as empty,
 * and `XBS_JSON`, the whole body.
 */
export function eventEnvironment(body: EventBody): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    env[`XBS_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`] = withoutNul(value === null ? '' : String(value));
  }
  env.XBS_JSON = withoutNul(JSON.stringify(body));
  return env;
}

/** An environment variable cannot hold NUL; an error text from a server could. */
const withoutNul = (text: string) => text.replaceAll('\0', '\\0');
