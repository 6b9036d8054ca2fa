import { schedule, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { CycleOutcome } from './cycle.js';
import type { SchedulerParts } from './open-scheduler.js';

export interface LoopStatus {
  startedAt: number;
  cycles: number;
  running: boolean;
  lastCycle: { startedAt: number; endedAt: number; attempted: number; failed: number; error: string | null } | null;
}

/**
 * The long-lived scheduler: a cycle at start and on every cron tick, never two at once. When first
 * backups wait only for the pause between groups, the next cycle comes when the pause ends rather
 * than at the next tick. stop() takes no new work and waits for what is in flight.
 */
export class SchedulerLoop {
  private task: ScheduledTask | undefined;
  private current: Promise<CycleOutcome | null> | undefined;
  private followUp: NodeJS.Timeout | undefined;
  private stopping = false;
  readonly status: LoopStatus;

  constructor(
    private parts: SchedulerParts,
    private cron: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.status = { startedAt: now(), cycles: 0, running: false, lastCycle: null };
  }

  start(): void {
    this.task = schedule(this.cron, () => void this.tick('schedule'));
    void this.tick('start');
  }

  /** Runs one cycle unless one is running; resolves with its outcome (null when skipped or failed). */
  tick(why: string): Promise<CycleOutcome | null> {
    if (this.stopping) return Promise.resolve(null);
    if (this.current) {
      this.logger.info({ why }, 'cycle skipped: the previous one is still running');
      return Promise.resolve(null);
    }
    clearTimeout(this.followUp);
    this.current = this.cycle(why).finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  private async cycle(why: string): Promise<CycleOutcome | null> {
    const startedAt = this.now();
    this.status.running = true;
    this.logger.info({ why }, 'cycle start');
    try {
      const outcome = await this.parts.cycle.run({ refreshes: true, firstBackups: true, shouldStop: () => this.stopping });
      const failed = outcome.results.filter((r) => r.outcome !== 'ok').length;
      this.status.lastCycle = { startedAt, endedAt: outcome.endedAt, attempted: outcome.results.length, failed, error: null };
      this.logger.info(
        { attempted: outcome.results.length, failed, held: outcome.plan.held.length, seconds: (outcome.endedAt - startedAt) / 1000 },
        'cycle end',
      );
      this.scheduleFollowUp(outcome);
      return outcome;
    } catch (err) {
      this.status.lastCycle = { startedAt, endedAt: this.now(), attempted: 0, failed: 0, error: (err as Error).message };
      this.logger.error({ err: (err as Error).message }, 'cycle failed');
      return null;
    } finally {
      this.status.cycles++;
      this.status.running = false;
    }
  }

  /** Missing users left after a group, or waiting for the pause: the next group comes when the pause ends. */
  private scheduleFollowUp(outcome: CycleOutcome): void {
    const moreToDo = outcome.group !== null || outcome.plan.held.some((h) => h.reason === 'bootstrap-pause');
    if (this.stopping || !moreToDo || outcome.nextGroupAt === null) return;
    this.followUp = setTimeout(() => void this.tick('next bootstrap group'), Math.max(0, outcome.nextGroupAt - this.now()));
  }

  /** Swaps in parts for a reloaded config, between cycles. */
  async replace(parts: SchedulerParts, cron: string): Promise<SchedulerParts> {
    await this.current;
    const old = this.parts;
    this.parts = parts;
    if (cron !== this.cron) {
      this.cron = cron;
      this.task?.stop();
      this.task = schedule(cron, () => void this.tick('schedule'));
    }
    return old;
  }

  /** No new commands; waits for in-flight ones up to `graceMs`. Resolves true when everything ended. */
  async stop(graceMs: number): Promise<boolean> {
    this.stopping = true;
    this.task?.stop();
    clearTimeout(this.followUp);
    if (!this.current) return true;
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      this.current.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    return ended;
  }
}
