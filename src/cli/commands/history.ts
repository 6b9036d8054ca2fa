import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../program.js';

export interface HistoryOptions extends GlobalOptions {
  limit: number;
}

export function registerHistory(program: Command, io: CliIo): void {
  program
    .command('history')
    .description('past backup attempts, newest first')
    .argument('[userid]', 'only this user')
    .option('--limit <n>', 'at most n attempts', (t: string) => {
      const n = Number(t);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
      return n;
    }, 100)
    .action(async (userid: string | undefined, _opts: unknown, command: Command) => {
      // Loaded here, so that other commands and --version do not pay for the state database.
      const { runHistory } = await import('./history-action.js');
      runHistory(userid, command.optsWithGlobals<HistoryOptions>(), io);
    });
}
