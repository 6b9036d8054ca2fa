import { setMaxListeners } from 'node:events';
import { schedule, type ScheduledTask } from 'node-cron';
import { cronPeriod } from '../config/cron-period.js';
import type { Logger } from 'pino';
import type { CycleOutcome, FleetSnapshot } from './cycle.js';
import { cycleResult, type CycleResult } from './cycle-result.js';
import type { HeldUser } from './plan/plan-types.js';
import type { MaintenanceStatus } from './maintenance/maintenance-status.js';
import type { SchedulerParts } from './open-scheduler.js';
import { StateDbError } from './state/state-db-error.js';
import { turnedInto } from '../staleness/turned-into.js';
import type { UserState } from '../staleness/user-state.js';

export interface CycleSummary {
  /** What started it: `start`, `schedule`, `next bootstrap group`. */
  why: string;
  startedAt: number;
  endedAt: number;
  attempted: number;
  failed: number;
  /** What the cycle came to (cycle-result.ts), and why when not a success. */
  result: CycleResult;
  because: string[];
  /** Why the cycle could not run (e.g. backups.db unreadable); null when it ran. */
  error: string | null;
}

/** What the loop knows about itself and the fleet, for the HTTP listener; updated in place. */
export interface LoopStatus {
  startedAt: number;
  cycles: number;
  /** When the cycle in progress began; null between cycles. */
  runningSince: number | null;
  /** Newest first, at most RECENT_CYCLES. */
  recentCycles: CycleSummary[];
  /** The end of the last successful cycle (cycle-result.ts), this run's or an earlier one's (the state database keeps it). */
  lastSuccessAt: number | null;
  /** Cycles by result, over every run on this state database. */
  cycleCounts: Record<CycleResult, number>;
  /** The fleet as the latest cycle classified it; null before the first one has looked. */
  fleet: FleetSnapshot | null;
  /** When the pause after the last first-backup group ends, as the latest cycle knew it. */
  nextGroupAt: number | null;
  /** The maintenance lane as it last looked; null when maintenance is off (maintenance.command unset). */
  maintenance: MaintenanceStatus | null;
}

const RECENT_CYCLES = 10;
const TURNS_LOGGED_AS_ERRORS: readonly UserState[] = ['failing', 'unreadable'];

/** How a cycle ended, for what watches the loop (notifications). */
export interface CycleEnd {
  why: string;
  startedAt: number;
  endedAt: number;
  result: CycleResult;
  /** Why the cycle could not run (result `error`). */
  error: string | null;
  /** null when it could not run. */
  outcome: CycleOutcome | null;
}

/** Told of each cycle as it goes; called synchronously, so an implementation must return at once and never throw. */
export interface CycleHooks {
  started(why: string, at: number): void;
  /** The fleet as the cycle classified it: before its commands, and again after (CycleOptions.onFleet). */
  fleet(snapshot: FleetSnapshot): void;
  ended(end: CycleEnd): void;
}

/**
 * The long-lived scheduler: a cycle at start and on every cron tick, never two at once. When first
 * backups wait only for the pause between groups, the next cycle comes when the pause ends rather
 * than at the next tick. stop() takes no new work and waits for what is in flight. A state database
 * that refuses a write halts the loop: no cycle sends an XBACKUP it could not record.
 */
export class SchedulerLoop {
  private task: ScheduledTask | undefined;
  private current: Promise<CycleOutcome | null> | undefined;
  private followUp: { timer: NodeJS.Timeout; at: number } | undefined;
  private stopping = false;
  /** Aborted by stop(): a cycle does not wait for servers it is still asking for their users. */
  private readonly stopped = new AbortController();
  private haltWith: (err: StateDbError) => void = () => undefined;
  readonly status: LoopStatus;
  /** Why the loop stopped by itself (its state database could not be written); null while it may run. */
  haltedBy: StateDbError | null = null;
  /** Resolves when the loop stops by itself; never while it may run. */
  readonly halted = new Promise<StateDbError>((resolve) => {
    this.haltWith = resolve;
  });

  /** The schedule's longest gap between ticks (cronPeriod). */
  private period: number;
  private hooks: CycleHooks | null = null;

  constructor(
    private parts: SchedulerParts,
    private cron: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.period = cronPeriod(cron);
    const totals = parts.cycles.totals();
    this.status = { startedAt: now(), cycles: 0, runningSince: null, recentCycles: [], lastSuccessAt: totals.lastAt.success, cycleCounts: totals.counts, fleet: null, nextGroupAt: null, maintenance: null };
    // One listener per server being asked for its users, however many servers there are: not a leak.
    setMaxListeners(0, this.stopped.signal);
    this.watchMaintenance();
  }

  private watchMaintenance(): void {
    this.status.maintenance = null;
    this.parts.maintenance?.watch(
      (status) => {
        this.status.maintenance = status;
      },
      () => {
        // Its verdicts (damaged, lastDeepVerify) show at once, not at the next cycle; a cycle under way sets its own.
        if (this.current || this.stopping) return;
        const fleet = this.parts.cycle.reassess();
        if (fleet) this.status.fleet = fleet;
      },
    );
  }

  /** Tells `hooks` of every cycle from the next one on. */
  observe(hooks: CycleHooks): void {
    this.hooks = hooks;
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
    this.cancelFollowUp();
    this.current = this.cycle(why).finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  private async cycle(why: string): Promise<CycleOutcome | null> {
    const startedAt = this.now();
    this.status.runningSince = startedAt;
    this.logger.info({ why }, 'cycle start');
    this.hooks?.started(why, startedAt);
    try {
      const outcome = await this.parts.cycle.run({
        refreshes: true,
        firstBackups: true,
        shouldStop: () => this.stopping,
        signal: this.stopped.signal,
        schedulePeriod: this.period,
        onFleet: (fleet) => {
          this.logTurned(this.status.fleet, fleet);
          this.status.fleet = fleet;
          this.hooks?.fleet(fleet);
        },
      });
      const { results, plan } = outcome;
      const serverOf = new Map(outcome.classification.users.map((u) => [u.userid, u.server]));
      const held = plan.held.map((h) => ({ reason: h.reason, server: serverOf.get(h.userid) ?? null }));
      const { result, why: reasons } = cycleResult({ error: null, attempts: results, held, serversNotAsked: outcome.serversNotAsked, pausedServers: outcome.pausedServers });
      const failed = results.filter((r) => r.outcome !== 'ok').length;
      this.record({ why, startedAt, endedAt: outcome.endedAt, attempted: results.length, failed, result, because: reasons, error: null });
      this.status.nextGroupAt = outcome.nextGroupAt;
      const fields = { result, attempted: results.length, failed, held: plan.held.length, seconds: (outcome.endedAt - startedAt) / 1000 };
      // One message for every end, so that what follows the log keys on it; the level and `result` say how it went.
      if (result === 'success') this.logger.info(fields, 'cycle end');
      else this.logger.warn({ ...fields, why: reasons }, 'cycle end');
      this.logPacing(plan.held);
      this.scheduleFollowUp(outcome);
      // After the cycle's XBACKUPs, from the fleet as they left it: the next cycle's plan holds the users whose backups ctl_backups is at.
      const fleet = this.status.fleet;
      if (fleet && !this.stopping) this.parts.maintenance?.offer(fleet.classification.users, fleet.at);
      this.hooks?.ended({ why, startedAt, endedAt: outcome.endedAt, result, error: null, outcome });
      return outcome;
    } catch (err) {
      const error = (err as Error).message;
      const endedAt = this.now();
      const { result, why: reasons } = cycleResult({ error, attempts: [], held: [], serversNotAsked: [], pausedServers: [] });
      // A state database that refused a write may refuse this one too: the halt below says so.
      try {
        this.record({ why, startedAt, endedAt, attempted: 0, failed: 0, result, because: reasons, error });
      } catch (recordErr) {
        if (!(recordErr instanceof StateDbError)) throw recordErr;
      }
      this.logger.error({ err: error }, 'cycle failed');
      this.hooks?.ended({ why, startedAt, endedAt, result, error, outcome: null });
      if (err instanceof StateDbError) this.halt(err);
      return null;
    } finally {
      this.status.cycles++;
      this.status.runningSince = null;
    }
  }

  /** Users who turned failing or unreadable since the fleet was last classified: errors, whose backups stopped. */
  private logTurned(before: FleetSnapshot | null, after: FleetSnapshot): void {
    for (const [state, users] of turnedInto(before?.classification ?? null, after.classification, TURNS_LOGGED_AS_ERRORS)) {
      this.logger.error({ state, users: users.length, first: users.slice(0, 10) }, `users turned ${state}`);
    }
  }

  /**
   * Users held by a closed window or a used-up budget, one line per hold (its words say which key and when it
   * ends): a `run --once` that sent nothing says why, not just how many it held.
   */
  private logPacing(held: readonly HeldUser[]): void {
    const byDetail = new Map<string, { reason: HeldUser['reason']; until: number; users: string[] }>();
    for (const h of held) {
      if (h.until === undefined) continue;
      const entry = byDetail.get(h.detail) ?? { reason: h.reason, until: h.until, users: [] };
      entry.users.push(h.userid);
      byDetail.set(h.detail, entry);
    }
    for (const [detail, { reason, until, users }] of byDetail) {
      this.logger.info({ reason, users: users.length, first: users.slice(0, 10), until: new Date(until).toISOString() }, `held: ${detail}`);
    }
  }

  private halt(err: StateDbError): void {
    this.stopping = true;
    this.task?.stop();
    this.cancelFollowUp();
    this.haltedBy = err;
    this.logger.error({ state: err.file }, 'scheduler halted: its state database cannot be written, so no further XBACKUP is sent');
    this.haltWith(err);
  }

  /** Shown at once, then kept in the state database (which may refuse it: the caller decides). */
  private record(cycle: CycleSummary): void {
    this.status.recentCycles = [cycle, ...this.status.recentCycles].slice(0, RECENT_CYCLES);
    this.status.cycleCounts[cycle.result]++;
    if (cycle.result === 'success') this.status.lastSuccessAt = cycle.endedAt;
    this.parts.cycles.record(cycle.result, cycle.endedAt);
  }

  /** When the next cycle is due: the next cron tick, or sooner when a bootstrap group waits only for its pause. */
  nextCycleAt(): number | null {
    if (this.stopping || !this.task) return null;
    const tick = this.task.getNextRun()?.getTime() ?? null;
    const followUp = this.followUp?.at ?? null;
    return tick === null ? followUp : followUp === null ? tick : Math.min(tick, followUp);
  }

  /** The longest gap between upcoming cron ticks: how often a cycle is due at worst (null when not started). */
  scheduleInterval(): number | null {
    return this.task ? this.period : null;
  }

  /** Missing users left after a group, or waiting for the pause: the next group comes when the pause ends. */
  private scheduleFollowUp(outcome: CycleOutcome): void {
    const moreToDo = outcome.group !== null || outcome.plan.held.some((h) => h.reason === 'bootstrap-pause');
    if (this.stopping || !moreToDo || outcome.nextGroupAt === null) return;
    const at = outcome.nextGroupAt;
    const timer = setTimeout(() => {
      this.followUp = undefined;
      void this.tick('next bootstrap group');
    }, Math.max(0, at - this.now()));
    this.followUp = { timer, at };
  }

  private cancelFollowUp(): void {
    clearTimeout(this.followUp?.timer);
    this.followUp = undefined;
  }

  /** Swaps in parts for a reloaded config, between cycles. */
  async replace(parts: SchedulerParts, cron: string): Promise<SchedulerParts> {
    await this.current;
    const old = this.parts;
    this.parts = parts;
    this.watchMaintenance();
    if (cron !== this.cron) {
      this.cron = cron;
      this.period = cronPeriod(cron);
      this.task?.stop();
      this.task = schedule(cron, () => void this.tick('schedule'));
    }
    return old;
  }

  /** XBACKUP commands under way right now (see Executor.xbackupsInFlight). */
  xbackupsInFlight(): number {
    return this.parts.executor.xbackupsInFlight;
  }

  /**
   * No new commands, and no more waiting for servers still being asked for their users; waits for the
   * XBACKUPs in flight up to `graceMs`. Resolves true when the cycle ended.
   */
  async stop(graceMs: number): Promise<boolean> {
    this.stopping = true;
    this.stopped.abort();
    this.task?.stop();
    this.cancelFollowUp();
    const maintenance = this.parts.maintenance?.stop(graceMs);
    if (!this.current) {
      await maintenance;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      this.current.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    await maintenance;
    return ended;
  }

  /** Resolves when the maintenance lane has nothing under way (`run --once` waits for it). */
  async maintenanceIdle(): Promise<void> {
    await this.parts.maintenance?.idle();
  }
}
