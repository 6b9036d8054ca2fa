import type { Logger } from 'pino';
import { configFileFromEnv, loadConfig } from '../../config/load.js';
import type { BackupResult } from '../../scheduler/backup-result.js';
import { Runner } from '../../scheduler/runner.js';
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
  const setup = setUpScheduler(opts, io.env, logger, { exclusive: 'run', onResult });
  if (opts.once) {
    try {
      const loop = new SchedulerLoop(setup.parts, setup.config.policy.schedule, logger);
      const outcome = await loop.tick('once');
      await loop.stop(0);
      if (loop.haltedBy) throw loop.haltedBy;
      // Exit 1 unless the cycle was a success (cycle-result.ts): a failed attempt, or due users left undone.
      const done = outcome !== null && loop.status.recentCycles[0]?.result === 'success';
      setExit(done ? ExitCode.ok : ExitCode.someWorkFailed);
    } finally {
      await setup.parts.close();
      setup.lock?.release();
      logger.flush();
    }
    return;
  }

  const runner = new Runner({
    setup: { config: setup.config, parts: setup.parts },
    lock: setup.lock,
    logger,
    reload: (current) => {
      const config = loadConfig(configFileFromEnv(opts.config, io.env), { secrets: true });
      if (config.state !== current.config.state) throw new Error(`state: cannot change on reload (${current.config.state} → ${config.state}); restart instead`);
      // Opening the state database again writes to it: a full disk refuses the reload, not crashes the scheduler.
      return openFor(config, logger, { onResult, holds: setup.lock });
    },
  });
  // Read through the runner on every request: a SIGHUP reload replaces its setup.
  const view: RunView = { loop: runner.loop, config: () => runner.setup.config, serverHealth: () => runner.setup.parts.serverStates.all() };
  const http = await listen(setup, view, metrics, logger);
  if (http) runner.addReleaser(() => http.close());
  await runner.run();
  // Exits with the state database's error (exit code 4) so a service manager sees the failure and restarts it later.
  if (runner.loop.haltedBy) throw runner.loop.haltedBy;
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
