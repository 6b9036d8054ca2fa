import type { Command } from 'commander';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../program.js';

export function registerPlan(program: Command, io: CliIo): void {
  program
    .command('plan')
    .description('a dry run of one scheduler cycle: who would be backed up now, in which order and why, and who is held back by which limit')
    .action(async (_opts: unknown, command: Command) => {
      // Loaded here, so that other commands and --version do not pay for IMAP and the scheduler.
      const { runPlan } = await import('./plan-action.js');
      await runPlan(command.optsWithGlobals<GlobalOptions>(), io);
    });
}
