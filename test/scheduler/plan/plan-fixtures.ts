// Builders for planner inputs: a user is its userid, state and whatever a test changes.
import type { MailboxNaming } from '../../../src/imap/mailbox-names.js';
import type { UserStatus } from '../../../src/staleness/classify.js';
import type { CyclePlan, PlanInput, PlanServer } from '../../../src/scheduler/plan/plan-types.js';
import { userStatus } from '../../support/user-status.js';

export const NOW = Date.parse('2026-11-23T12:00:00Z');
export const H = 3_600_000;
export const GiB = 1024 ** 3;
export const DOT: MailboxNaming = { separator: '.' };
export const SLASH: MailboxNaming = { separator: '/' };

const DEFAULT_AGE: Record<UserStatus['state'], number | null> = {
  fresh: 1 * H,
  stale: 30 * H,
  missing: null,
  failing: 40 * H,
  unreadable: null,
  orphan: 50 * H,
  conflict: null,
  damaged: 3 * H,
};

export function user(userid: string, state: UserStatus['state'], extra: Partial<UserStatus> = {}): UserStatus {
  return userStatus(userid, state, extra.age !== undefined ? extra.age : DEFAULT_AGE[state], NOW, extra);
}

export function server(name: string, allUserids: readonly string[], extra: Partial<PlanServer> = {}): PlanServer {
  return { name, naming: DOT, maxConcurrent: 1, inFlight: 0, pausedUntil: null, allUserids, sharedMailboxes: [], ...extra };
}

/** One cycle's input; by default one server, imap1, that has every user whose server is imap1. */
export function planInput(users: readonly UserStatus[], extra: Partial<PlanInput> = {}): PlanInput {
  return {
    now: NOW,
    refreshFromAge: Infinity,
    users,
    servers: [server('imap1', users.filter((u) => u.server === 'imap1').map((u) => u.userid))],
    memory: new Map(),
    inFlightUsers: new Set(),
    maintenanceUsers: new Set(),
    maxPerCycle: 500,
    bootstrap: { groupSize: 5, maxGroupBytes: { value: 2 * GiB, text: '2GiB' }, order: 'smallest', groupInFlight: false, nextGroupAt: null, stagingShort: false, window: null, budget: null },
    includeFirstBackups: true,
    refreshWindow: null,
    ...extra,
  };
}

/** What `plan` shows a person: who runs, in order and how, and who waits for what. */
export function seen(plan: CyclePlan): { planned: string[]; held: Record<string, string> } {
  return {
    planned: plan.planned.map((p) => `${p.userid} ${p.kind}`),
    held: Object.fromEntries(plan.held.map((h) => [h.userid, h.reason])),
  };
}
