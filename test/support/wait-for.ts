// The one way a test waits: for a condition (an event it can observe), never for an amount of time.
// The timeout only bounds a hang; it is never the expected duration, so a loaded machine is slower, not red.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';

export interface WaitForOptions {
  /** Gives up after this long: a bound on a hang, far above how long the event takes on a busy machine. */
  timeoutMs: number;
  /** What is awaited, as the failure names it ("anne's XBACKUP in flight"). */
  what: string;
  /** Pause between polls (default 100 ms). */
  intervalMs?: number;
  /** What the last poll saw, for the failure; without it, the condition's last value is shown. */
  describe?: () => string | Promise<string>;
}

/**
 * Polls `condition` until it returns something other than undefined or false, and returns that. Fails
 * after `timeoutMs` saying what it waited for and what it last saw. A condition that throws ends the
 * wait at once (e.g. "the process under test exited"). Polls never overlap, and the condition is
 * always evaluated once more after the deadline, so a poll delayed by a busy machine still counts.
 */
export async function waitFor<T>(condition: () => T | false | undefined | Promise<T | false | undefined>, options: WaitForOptions): Promise<T> {
  const started = Date.now();
  for (;;) {
    const overdue = Date.now() - started > options.timeoutMs;
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    if (overdue) {
      const seen = options.describe ? await options.describe() : `the condition returned ${String(value)}`;
      assert.fail(`waited ${(options.timeoutMs / 1000).toFixed(1)} s for ${options.what}, in vain; last seen: ${seen}`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}
