import type { Logger } from 'pino';
import { configFileFromEnv, loadConfig } from '../../config/load.js';
import type { BackupResult } from '../../scheduler/backup-result.js';
import { SchedulerLoop } from '../../scheduler/scheduler-loop.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { SchedulerMetrics } from '../http/metrics.js';
import type { RunView } from '../http/run-view.js';
import { startHttpListener, type HttpListener } from '../http/server.js';
import { schedulerLogger } from '../logger.js';
import type { CliIo } from '../program.js';
import { openFor, setUpScheduler, type SchedulerSetup } from '../scheduler-setup.js';
import { UsageError } from '../usage-error.js';
import type { RunOptions } from '../commands.js';

/** `run`: the scheduler, until a signal (or one cycle with --once). */
export async function runScheduler(opts: RunOptions, io: CliIo, setExit: (code: number) => void): Promise<void> {
  const logger = schedulerLogger(opts);
  // Attempts are counted for /metrics as they finish, from the first cycle on.
  const metrics = new SchedulerMetrics();
  const onResult = (result: BackupResult) => metrics.recordAttempt(result);
  let setup = setUpScheduler(opts, io.env, logger, { exclusive: 'run', onResult });
  if (opts.once) {
    try {
      const loop = new SchedulerLoop(setup.parts, setup.config.policy.schedule, logger);
      const outcome = await loop.tick('once');
      await loop.stop(0);
      if (loop.haltedBy) throw loop.haltedBy;
      const failed = outcome === null || outcome.results.some((r) => r.outcome !== 'ok');
      setExit(failed ? ExitCode.someWorkFailed : ExitCode.ok);
    } finally {
      await setup.parts.close();
      setup.lock?.release();
      logger.flush();
    }
    return;
  }

  const loop = new SchedulerLoop(setup.parts, setup.config.policy.schedule, logger);
  // Read through getters on every request: a SIGHUP reload replaces `setup`.
  const view: RunView = { loop, config: () => setup.config, serverHealth: () => setup.parts.serverStates.all() };
  const http = await listen(setup, view, metrics, logger);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = async (why: { signal: string } | { halted: string }) => {
      // A halt may come while a signal's stop waits for the cycle in flight: one stop does it all.
      if (stopping) return;
      stopping = true;
      process.off('SIGTERM', onTerm).off('SIGINT', onInt).off('SIGHUP', onHup);
      const inFlight = loop.xbackupsInFlight();
      logger.info(
        { ...why, graceSeconds: setup.config.policy.shutdownGrace / 1000, xbackupsInFlight: inFlight },
        inFlight > 0 ? 'stopping: no new work, waiting for XBACKUPs in flight' : 'stopping: no new work; no XBACKUP in flight',
      );
      if (!(await loop.stop(setup.config.policy.shutdownGrace))) {
        const still = loop.xbackupsInFlight();
        if (still > 0) logger.warn({ xbackupsInFlight: still }, 'shutdown grace over with XBACKUPs still in flight; their users are in doubt');
        else logger.warn('shutdown grace over with no XBACKUP in flight; the cycle was cut short');
      }
      await http?.close();
      await setup.parts.close();
      setup.lock?.release();
      logger.info('scheduler stopped');
      logger.flush();
      resolve();
    };
    const reload = async () => {
      let config;
      let fresh;
      try {
        config = loadConfig(configFileFromEnv(opts.config, io.env), { secrets: true });
        if (config.state !== setup.config.state) throw new Error(`state: cannot change on reload (${setup.config.state} → ${config.state}); restart instead`);
        // Opening the state database again writes to it: a full disk refuses the reload, not crashes the scheduler.
        fresh = openFor(config, logger, { onResult, holds: setup.lock });
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'config reload refused; the old config stays in force');
        return;
      }
      const old = await loop.replace(fresh.parts, config.policy.schedule);
      const before = setup.config.http;
      // Swapped before the old parts close, so the HTTP listener never reads a closed database.
      setup = { ...fresh, lock: setup.lock };
      await old.close();
      logger.info({ config: config.file, servers: config.servers.map((s) => s.name) }, 'config reloaded');
      const listenerChanged = JSON.stringify([before.listen, before.allowedHosts]) !== JSON.stringify([config.http.listen, config.http.allowedHosts]);
      if (listenerChanged || before.token?.reveal() !== config.http.token?.reveal()) {
        logger.warn('http.listen, http.allowedHosts and http.tokenFile take effect at the next start, not on reload');
      }
    };
    const onTerm = () => void stop({ signal: 'SIGTERM' });
    const onInt = () => void stop({ signal: 'SIGINT' });
    const onHup = () => void reload();
    // Before "scheduler started": a SIGTERM that follows that line must find its handler.
    process.on('SIGTERM', onTerm).on('SIGINT', onInt).on('SIGHUP', onHup);
    void loop.halted.then((err) => stop({ halted: err.message }));
    logger.info({ config: setup.config.file, servers: setup.config.servers.map((s) => s.name), schedule: setup.config.policy.schedule }, 'scheduler started');
    loop.start();
  });
  // Exits with the state database's error (exit code 4) so a service manager sees the failure and restarts it later.
  if (loop.haltedBy) throw loop.haltedBy;
  setExit(ExitCode.ok);
}

/** The HTTP listener when http.listen is set; a port that cannot be had stops `run` before its first cycle. */
async function listen(setup: SchedulerSetup, view: RunView, metrics: SchedulerMetrics, logger: Logger): Promise<HttpListener | null> {
  const { listen: address, token, allowedHosts } = setup.config.http;
  if (!address) return null;
  metrics.seedAttempts(setup.parts.attempts.outcomeCounts());
  try {
    const http = await startHttpListener({ listen: address, allowedHosts, token, view, metrics, logger });
    logger.info({ url: http.url, token: token !== undefined }, 'http listener started');
    return http;
  } catch (err) {
    await setup.parts.close();
    setup.lock?.release();
    throw new UsageError(`http.listen: ${(err as Error).message}`);
  }
}
