import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI's entry point, for tests that run it under a wrapper (as another user, say). */
export const MAIN = join(repoRoot, 'dist/src/cli/main.js');

/**
 * Runs a command in this process, through runCli (what main.js calls with the real stdout and stderr):
 * no node start-up, so a fraction of a process's cost. For commands that need no process of their own;
 * use runCliProcess for signals, `run`, another user, a bound on a hang, or the log lines: they go
 * straight to file descriptor 2 (pino), not through runCli's io. `env` reaches what the CLI reads through
 * its io (XBACKUP_SCHEDULER_CONFIG), not a server's passwordEnv, which is read from process.env.
 */
export async function runCliInProcess(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  // Loaded on first use, so that files that only spawn the CLI do not load it too.
  const { runCli } = await import('../../src/cli/program.js');
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: { ...process.env, ...options.env },
  });
  return { code, stdout, stderr };
}

/** Runs the built CLI as a separate process, exactly as an admin's shell would. */
export function runCliProcess(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return runProcess([process.execPath, MAIN, ...args], options);
}

/** Any command (the CLI under a wrapper such as prlimit, say) to its end, bounded. */
export function runProcess(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export interface RunningCli {
  child: ReturnType<typeof spawn>;
  output(): { stdout: string; stderr: string };
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
}

/** Starts the built CLI and leaves it running (for `run`, and for killing a bootstrap halfway). */
export function startCliProcess(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): RunningCli {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, output: () => ({ stdout, stderr }), exited };
}
