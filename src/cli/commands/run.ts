import type { Command } from 'commander';
import { configFileFromEnv, loadConfig } from '../../config/load.js';
import { SchedulerLoop } from '../../scheduler/scheduler-loop.js';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { schedulerLogger } from '../logger.js';
import type { CliIo } from '../program.js';
import { openFor, setUpScheduler } from '../scheduler-setup.js';

interface RunOptions extends GlobalOptions {
  once?: boolean;
  pretty?: boolean;
}

export function registerRun(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('run')
    .description('the scheduler: a cycle at start and on policy.schedule, until SIGTERM or SIGINT (SIGHUP reloads the config)')
    .option('--once', 'run one cycle and exit (for systemd timers or cron); exit code 1 if any attempt failed')
    .option('--pretty', 'log lines for people instead of JSON')
    .action(async (_opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<RunOptions>();
      const logger = schedulerLogger(opts);
      let setup = setUpScheduler(opts, io.env, logger, { exclusive: 'run' });
      if (opts.once) {
        try {
          const loop = new SchedulerLoop(setup.parts, setup.config.policy.schedule, logger);
          const outcome = await loop.tick('once');
          await loop.stop(0);
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
      logger.info({ config: setup.config.file, servers: setup.config.servers.map((s) => s.name), schedule: setup.config.policy.schedule }, 'scheduler started');
      loop.start();
      await new Promise<void>((resolve) => {
        const stop = async (signal: string) => {
          process.off('SIGTERM', onTerm).off('SIGINT', onInt).off('SIGHUP', onHup);
          logger.info({ signal, graceSeconds: setup.config.policy.shutdownGrace / 1000 }, 'stopping: no new work, waiting for XBACKUPs in flight');
          const ended = await loop.stop(setup.config.policy.shutdownGrace);
          if (!ended) logger.warn('shutdown grace over with XBACKUPs still in flight; their users are in doubt');
          await setup.parts.close();
          setup.lock?.release();
          logger.info('scheduler stopped');
          logger.flush();
          resolve();
        };
        const reload = async () => {
          let config;
          try {
            config = loadConfig(configFileFromEnv(opts.config, io.env), { secrets: true });
            if (config.state !== setup.config.state) throw new Error(`state: cannot change on reload (${setup.config.state} → ${config.state}); restart instead`);
          } catch (err) {
            logger.error({ err: (err as Error).message }, 'config reload refused; the old config stays in force');
            return;
          }
          const fresh = openFor(config, logger);
          const old = await loop.replace(fresh.parts, config.policy.schedule);
          await old.close();
          setup = { ...fresh, lock: setup.lock };
          logger.info({ config: config.file, servers: config.servers.map((s) => s.name) }, 'config reloaded');
        };
        const onTerm = () => void stop('SIGTERM');
        const onInt = () => void stop('SIGINT');
        const onHup = () => void reload();
        process.on('SIGTERM', onTerm).on('SIGINT', onInt).on('SIGHUP', onHup);
      });
      setExit(ExitCode.ok);
    });
}
