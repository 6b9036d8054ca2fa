import { Command, CommanderError } from 'commander';
import { ExitCode } from '../errors/exit-codes.js';
import { ToolError } from '../errors/tool-error.js';
import { defineCommands } from './commands.js';
import { addGlobalOptions } from './global-options.js';
import { packageVersion } from './version.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}


/** `argv`: what the program will parse (a bounded report runs it again as its child). */
export function buildProgram(io: CliIo, setExit: (code: number) => void, argv: readonly string[] = []): Command {
  const program = new Command('xbackup-scheduler')
    .description('Decides which Cyrus users need a backup to this backup server, and asks their IMAP servers for it with XBACKUP.')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  addGlobalOptions(program);
  defineCommands(program, io, setExit, argv);
  return program;
}

/** Runs the CLI and returns the exit code; never calls process.exit, so tests can drive it in-process. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exit: number = ExitCode.ok;
  const program = buildProgram(
    io,
    (code) => {
      exit = Math.max(exit, code);
    },
    argv,
  );
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exit;
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === 0) return ExitCode.ok;
    // Commander has said what was wrong already, through io.stderr.
    if (!(err instanceof CommanderError)) io.stderr(`${err instanceof ToolError ? err.heading : 'error: '}${err instanceof Error ? err.message : String(err)}\n`);
    const { asksForNagiosCheck, nagiosError } = await import('./output/report-nagios.js');
    if (asksForNagiosCheck(argv)) {
      const { text, exitCode } = nagiosError(err);
      io.stdout(text);
      return exitCode;
    }
    if (err instanceof CommanderError) return ExitCode.usageOrConfig;
    return err instanceof ToolError ? err.exitCode : ExitCode.someWorkFailed;
  }
}
