import type { Command } from 'commander';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../program.js';

export interface RunOptions extends GlobalOptions {
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
      // Loaded here, so that other commands and --version do not pay for IMAP, cron and the scheduler.
      const { runScheduler } = await import('./run-action.js');
      await runScheduler(command.optsWithGlobals<RunOptions>(), io, setExit);
    });
}
