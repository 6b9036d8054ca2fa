import { Option, type Command } from 'commander';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../program.js';

export interface BackupOptions extends GlobalOptions {
  server?: string;
  dryRun?: boolean;
}

export function registerBackup(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('backup')
    .description('back up now every user matching the patterns (userids, or patterns with * and %)')
    .argument('<pattern...>', 'userids or userid patterns, e.g. anne "b*" "*@example.com"')
    .addOption(new Option('--server <name>', 'only this configured server'))
    .option('--dry-run', 'list who would be backed up, and back up nobody')
    .action(async (patterns: string[], _opts: unknown, command: Command) => {
      // Loaded here, so that other commands and --version do not pay for IMAP and the scheduler.
      const { runBackup } = await import('./backup-action.js');
      await runBackup(patterns, command.optsWithGlobals<BackupOptions>(), io, setExit);
    });
}
