import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../units/duration.js';
import type { ReportSort } from '../../staleness/report.js';
import { isUserState, USER_STATES, type UserState } from '../../staleness/user-state.js';
import type { GlobalOptions } from '../global-options.js';
import { REPORT_FORMAT_NAMES, type ReportFormat } from '../output/report-formats.js';
import type { CliIo } from '../program.js';

export interface ReportOptions extends GlobalOptions {
  format: ReportFormat;
  state?: UserState[];
  user?: string[];
  sort: ReportSort;
  limit?: number;
  maxAge?: number;
  warnAge?: number;
  critAge?: number;
  discovery: boolean;
}

function durationArg(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function statesArg(text: string, previous: UserState[] = []): UserState[] {
  const states = text.split(',').map((s) => s.trim());
  const bad = states.filter((s) => !isUserState(s));
  if (bad.length > 0) throw new InvalidArgumentError(`unknown state ${bad.join(', ')}; states are ${USER_STATES.join(', ')}`);
  return [...previous, ...(states as UserState[])];
}

function limitArg(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

export function registerReport(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('report')
    .description('staleness of every user\'s backup, from the backup server\'s own files')
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMAT_NAMES).default('table'))
    .option('--state <states>', `only these states, comma-separated (${USER_STATES.join(',')})`, statesArg)
    .option('--user <pattern>', 'only users matching (* and %; repeatable)', (p: string, prev: string[] = []) => [...prev, p])
    .addOption(new Option('--sort <key>', 'order of the users').choices(['age', 'size', 'user']).default('age'))
    .option('--limit <n>', 'at most n users', limitArg)
    .option('--max-age <duration>', 'stale from this age (overrides policy.maxAge)', durationArg)
    .option('--warn-age <duration>', 'nagios: WARNING when a backup is older (default: max age)', durationArg)
    .option('--crit-age <duration>', 'nagios: CRITICAL when a backup is older (default: twice max age)', durationArg)
    .option('--no-discovery', 'do not ask the IMAP servers for their users (the backup server\'s files alone)')
    .action(async (_opts: unknown, command: Command) => {
      // Loaded here, so that other commands and --version do not pay for the report's modules.
      const { runReport } = await import('./report-action.js');
      await runReport(command.optsWithGlobals<ReportOptions>(), io, setExit);
    });
}
