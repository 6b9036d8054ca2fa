import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../../units/duration.js';
import { parseSize } from '../../units/size.js';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../program.js';

export interface BootstrapOptions extends GlobalOptions {
  dryRun?: boolean;
  groupSize?: number;
  maxGroupBytes?: number;
  pause?: number;
}

const arg = <T>(parse: (t: string) => T) => (text: string): T => {
  try {
    return parse(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

export function registerBootstrap(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('bootstrap')
    .description('first backups of every user never backed up, a small group at a time; resumable')
    .option('--dry-run', 'print the groups, back up nobody')
    .option('--group-size <n>', 'users per group (bootstrap.groupSize)', arg((t) => {
      const n = Number(t);
      if (!Number.isInteger(n) || n < 1) throw new Error('expected a whole number ≥ 1');
      return n;
    }))
    .option('--max-group-bytes <size>', 'bytes per group when sizes are known (bootstrap.maxGroupBytes)', arg(parseSize))
    .option('--pause <duration>', 'pause between groups (bootstrap.pause)', arg(parseDuration))
    .action(async (_opts: unknown, command: Command) => {
      // Loaded here, so that other commands and --version do not pay for IMAP, the scheduler and the progress bar.
      const { runBootstrapCommand } = await import('./bootstrap-action.js');
      await runBootstrapCommand(command.optsWithGlobals<BootstrapOptions>(), io, setExit);
    });
}
