import type { Command } from 'commander';
import type { GlobalOptions } from '../global-options.js';
import { commandLogger } from '../logger.js';
import { writePlanJson, writePlanText } from '../output/plan-text.js';
import type { CliIo } from '../program.js';
import { setUpScheduler } from '../scheduler-setup.js';

export function registerPlan(program: Command, io: CliIo): void {
  program
    .command('plan')
    .description('a dry run of one scheduler cycle: who would be backed up now, in which order and why, and who is held back by which limit')
    .action(async (_opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<GlobalOptions>();
      const { parts } = setUpScheduler(opts, io.env, commandLogger(opts));
      try {
        const looked = await parts.cycle.look({ refreshes: true, firstBackups: true });
        io.stdout(opts.json ? writePlanJson(looked.plan, Date.now()) : writePlanText(looked.plan, Date.now()));
      } finally {
        await parts.close();
      }
    });
}
