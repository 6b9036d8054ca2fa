import type { Command } from 'commander';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../program.js';

export interface CheckOptions extends GlobalOptions {
  canary?: string;
}

export function registerCheck(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('check')
    .description('check the config, the backup server\'s files and every IMAP server, backing nobody up (unless --canary)')
    .option('--canary <userid>', 'also back up this (small) user and check its index advanced')
    .action(async (_opts: unknown, command: Command) => {
      // Loaded here, so that other commands and --version do not pay for IMAP.
      const { runCheck } = await import('./check-action.js');
      await runCheck(command.optsWithGlobals<CheckOptions>(), io, setExit);
    });
}
