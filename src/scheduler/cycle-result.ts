// What one scheduler cycle came to, as an admin judges it: the one rule behind "last success",
// `xbackup_cycles_total{result}`, /healthz, the status page's cycle list and `run --once`'s exit code.
import type { BackupOutcome } from './backup-result.js';
import type { HoldReason } from './plan/plan-types.js';

/**
 * `success`: the work the cycle had to do got done, or there was none. `failure`: the cycle ran, but work
 * that was due was not done. `error`: the cycle itself could not run (backups.db unreadable, the state
 * database refused, anything that threw).
 */
export type CycleResult = 'success' | 'failure' | 'error';

export const CYCLE_RESULTS: readonly CycleResult[] = ['success', 'failure', 'error'];

export interface CycleFacts {
  /** Why the cycle could not run; null when it ran. */
  error: string | null;
  /** Every attempt the cycle made. */
  attempts: ReadonlyArray<{ outcome: BackupOutcome; locked: boolean }>;
  /** Due users the cycle sent nothing for, why, and their IMAP server (null: none known). */
  held: ReadonlyArray<{ reason: HoldReason; server: string | null }>;
  /** IMAP servers whose circuit breaker is open at the end of the cycle (no probe has succeeded since it opened). */
  pausedServers: readonly string[];
  /** IMAP servers that could not be asked for their users (their new users stay unseen). */
  serversNotAsked: readonly string[];
}

/**
 * Held for a reason that is a fault: the user was due and its server could not take the command. The
 * other reasons are the scheduler's own pacing (backoff, the bootstrap throttle, maxPerCycle, a command
 * already in flight or in doubt): waiting on purpose is not a failure.
 */
const HELD_BY_A_FAULT: ReadonlySet<HoldReason> = new Set(['server-paused', 'server-unknown']);

/** A user waiting out its backoff or doubt on a server that is paused waits because of the server: undone too. */
const HELD_BY_THE_SERVER: ReadonlySet<HoldReason> = new Set(['backoff', 'in-doubt']);

/**
 * The result and, unless it is a success, why, in a few words (no userid or error text: /healthz shows
 * them). An attempt answered `Mailbox is locked` is not a failure: another backup of that user was running.
 */
export function cycleResult(facts: CycleFacts): { result: CycleResult; why: string[] } {
  if (facts.error !== null) return { result: 'error', why: ['the cycle could not run'] };
  const why: string[] = [];
  const failed = facts.attempts.filter((a) => a.outcome !== 'ok' && !a.locked).length;
  if (failed > 0) why.push(`${failed} of ${facts.attempts.length} ${facts.attempts.length === 1 ? 'attempt' : 'attempts'} failed`);
  const paused = new Set(facts.pausedServers);
  const undone = facts.held.filter((h) => HELD_BY_A_FAULT.has(h.reason) || (HELD_BY_THE_SERVER.has(h.reason) && h.server !== null && paused.has(h.server))).length;
  if (undone > 0) why.push(`${undone} due ${undone === 1 ? 'user' : 'users'} left undone: ${undone === 1 ? 'its' : 'their'} IMAP server paused or not reachable`);
  if (facts.serversNotAsked.length > 0) why.push(`could not ask ${facts.serversNotAsked.join(', ')} for ${facts.serversNotAsked.length === 1 ? 'its' : 'their'} users`);
  return { result: why.length === 0 ? 'success' : 'failure', why };
}
