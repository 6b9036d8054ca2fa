import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { configFileFromEnv, loadConfig, type Config } from '../../config/load.js';
import { Notifier } from '../../notify/notifier.js';
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
import { packageVersion } from '../version.js';

/** `run`: the scheduler, until a signal (or one cycle with --once). */
export async function runScheduler(opts: RunOptions, io: CliIo, setExit: (code: number) => void): Promise<void> {
  const logger = schedulerLogger(opts);
  // Attempts are counted for /metrics as they finish, from the first cycle on.
  const metrics = new SchedulerMetrics();
  const onResult = (result: BackupResult) => metrics.recordAttempt(result);
  const setup = setUpScheduler(opts, io.env, logger, { exclusive: 'run', onResult });
  if (opts.once) {
    const notifier = notifierFor(setup.config, logger, io.env, () => setup.parts.serverStates.all());
    try {
      const loop = new SchedulerLoop(setup.parts, setup.config.policy.schedule, logger);
      if (notifier) loop.observe(notifier);
      const outcome = await loop.tick('once');
      // The cycle's share of maintenance, when maintenance is on: one pass of the queue it left, within the window.
      await loop.maintenanceIdle();
      await loop.stop(0);
      // The cycle's events and its end ping go out before the process ends, within one try's deadline.
      await notifier?.close(notifyGrace(setup.config));
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
      if (notifyKey(config) !== notifyKey(current.config)) logger.warn('notify: takes effect at the next start, not on reload');
      // Opening the state database again writes to it: a full disk refuses the reload, not crashes the scheduler.
      return openFor(config, logger, { onResult, holds: setup.lock });
    },
  });
  const notifier = notifierFor(setup.config, logger, io.env, () => runner.setup.parts.serverStates.all());
  if (notifier) {
    runner.loop.observe(notifier);
    runner.addReleaser(() => notifier.close(notifyGrace(setup.config)));
  }
  // Read through the runner on every request: a SIGHUP reload replaces its setup.
  const view: RunView = { loop: runner.loop, config: () => runner.setup.config, serverHealth: () => runner.setup.parts.serverStates.all(),
    bootstrapBytesThisWindow: (now) => runner.setup.parts.groups.bytesThisWindow(runner.setup.config.bootstrap.window ?? null, now),
  };
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

/** The notifications of `run`, when notify: names a destination. */
function notifierFor(config: Config, logger: Logger, env: NodeJS.ProcessEnv, serverHealth: () => ReturnType<SchedulerSetup['parts']['serverStates']['all']>): Notifier | null {
  const { notify } = config;
  if (!notify.webhook && !notify.exec && !notify.ping) return null;
  const destinations = [notify.webhook && `webhook ${notify.webhook.url.source}`, notify.exec && `exec ${notify.exec.command[0]}`, notify.ping && `ping ${notify.ping.url.source}`].filter(Boolean);
  logger.info({ destinations, events: notify.events }, 'notifications on');
  return new Notifier({ config: notify, logger, serverHealth, host: hostname(), userAgent: `xbackup-scheduler/${packageVersion()}`, env });
}

/** At stop, what is queued gets one try's deadline, the longest configured, to go out. */
function notifyGrace(config: Config): number {
  const { webhook, exec, ping } = config.notify;
  return Math.max(0, webhook?.timeout ?? 0, exec?.timeout ?? 0, ping?.timeout ?? 0);
}

/** notify: as loaded, its URLs included, to tell whether a reload changed it. */
function notifyKey(config: Config): string {
  const { webhook, ping, ...rest } = config.notify;
  return JSON.stringify({ ...rest, webhook: webhook && { ...webhook, url: webhook.url.reveal() }, ping: ping && { ...ping, url: ping.url.reveal() } });
}
