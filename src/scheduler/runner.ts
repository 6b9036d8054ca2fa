import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { SchedulerParts } from './open-scheduler.js';
import { SchedulerLoop } from './scheduler-loop.js';
import type { StateDbError } from './state/state-db-error.js';

/** What a running scheduler works with; a reload replaces it as a whole. */
export interface RunnerSetup {
  config: Config;
  parts: SchedulerParts;
}

export interface RunnerOptions {
  setup: RunnerSetup;
  /** A new setup from the config file as it is now (SIGHUP); throws to refuse the reload. */
  reload: (current: RunnerSetup) => RunnerSetup;
  /** Released last, once everything else is closed (the instance lock). */
  lock?: { release(): void } | null;
  logger: Logger;
}

type StopReason = { signal: string } | { halted: string };

/**
 * The long-lived scheduler as `run` starts it: the loop, the signals (SIGTERM and SIGINT stop, SIGHUP
 * reloads the config), what must be released at the end, and one stop() that does it all once.
 */
export class Runner {
  readonly loop: SchedulerLoop;
  private current: RunnerSetup;
  private readonly releasers: Array<() => Promise<void> | void> = [];
  private stopping: Promise<void> | null = null;
  private resolveDone: () => void = () => undefined;
  private readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });
  private readonly onTerm = () => void this.stop({ signal: 'SIGTERM' });
  private readonly onInt = () => void this.stop({ signal: 'SIGINT' });
  private readonly onHup = () => void this.reload();

  constructor(private readonly options: RunnerOptions) {
    this.current = options.setup;
    this.loop = new SchedulerLoop(options.setup.parts, options.setup.config.policy.schedule, options.logger);
  }

  /** Read on every use: a reload replaces it. */
  get setup(): RunnerSetup {
    return this.current;
  }

  /** Closed at stop, newest first, before the scheduler's own parts (an HTTP listener, say). */
  addReleaser(release: () => Promise<void> | void): void {
    this.releasers.push(release);
  }

  /** Takes the signals, then starts the loop; resolves when stopped (by a signal, stop() or a halt). */
  run(): Promise<void> {
    const { logger } = this.options;
    // Before "scheduler started": a SIGTERM that follows that line must find its handler.
    process.on('SIGTERM', this.onTerm).on('SIGINT', this.onInt).on('SIGHUP', this.onHup);
    void this.loop.halted.then((err: StateDbError) => this.stop({ halted: err.message }));
    const { config } = this.current;
    logger.info({ config: config.file, servers: config.servers.map((s) => s.name), schedule: config.policy.schedule }, 'scheduler started');
    this.loop.start();
    return this.done;
  }

  /** No new work; waits for the XBACKUPs in flight up to policy.shutdownGrace, then releases everything. Once. */
  stop(why: StopReason): Promise<void> {
    this.stopping ??= this.stopOnce(why).finally(() => this.resolveDone());
    return this.stopping;
  }

  private async stopOnce(why: StopReason): Promise<void> {
    const { logger, lock } = this.options;
    process.off('SIGTERM', this.onTerm).off('SIGINT', this.onInt).off('SIGHUP', this.onHup);
    const grace = this.current.config.policy.shutdownGrace;
    const inFlight = this.loop.xbackupsInFlight();
    logger.info(
      { ...why, graceSeconds: grace / 1000, xbackupsInFlight: inFlight },
      inFlight > 0 ? 'stopping: no new work, waiting for XBACKUPs in flight' : 'stopping: no new work; no XBACKUP in flight',
    );
    if (!(await this.loop.stop(grace))) {
      const still = this.loop.xbackupsInFlight();
      if (still > 0) logger.warn({ xbackupsInFlight: still }, 'shutdown grace over with XBACKUPs still in flight; their users are in doubt');
      else logger.warn('shutdown grace over with no XBACKUP in flight; the cycle was cut short');
    }
    for (const release of this.releasers.reverse()) await release();
    await this.current.parts.close();
    lock?.release();
    logger.info('scheduler stopped');
    logger.flush();
  }

  private async reload(): Promise<void> {
    const { logger } = this.options;
    let fresh: RunnerSetup;
    try {
      fresh = this.options.reload(this.current);
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'config reload refused; the old config stays in force');
      return;
    }
    const before = this.current.config;
    const old = await this.loop.replace(fresh.parts, fresh.config.policy.schedule);
    // Swapped before the old parts close, so nothing reading `setup` meets a closed database.
    this.current = fresh;
    await old.close();
    const { config } = fresh;
    logger.info({ config: config.file, servers: config.servers.map((s) => s.name) }, 'config reloaded');
    const listenerChanged = JSON.stringify([before.http.listen, before.http.allowedHosts]) !== JSON.stringify([config.http.listen, config.http.allowedHosts]);
    if (listenerChanged || before.http.token?.reveal() !== config.http.token?.reveal()) {
      logger.warn('http.listen, http.allowedHosts and http.tokenFile take effect at the next start, not on reload');
    }
  }
}
