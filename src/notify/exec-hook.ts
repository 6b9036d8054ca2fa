// The exec hook: the admin's command, run once per event, with the event in its environment. No shell
// unless the command is one; a command that outlives its timeout is killed with everything it started.
import { spawn } from 'node:child_process';
import { DeliveryError } from './delivery-queue.js';

/** After the timeout's SIGTERM, this long before SIGKILL. */
export const KILL_GRACE_MS = 2000;

/** After it exits, how long its output pipes are read before they are let go. */
const OUTPUT_GRACE_MS = 500;

/** What of its output a failed command's log line shows at most. */
const OUTPUT_KEPT = 500;

/**
 * Variables passed on from the scheduler's own environment: enough to run a program. Not the rest: it
 * holds the IMAP passwords of `passwordEnv`, and a hook has no need of them.
 */
const PASSED_ON = ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'HOME'];

export function hookEnvironment(event: Record<string, string>, parent: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED_ON) if (parent[name] !== undefined) env[name] = parent[name]!;
  return { ...env, ...event };
}

export interface HookRun {
  command: readonly string[];
  env: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
}

/** Resolves when the command exits 0; rejects (not retryable: it may have done part of its work) otherwise. */
export function runHookCommand({ command, env, timeoutMs, signal }: HookRun): Promise<void> {
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout also ends what it started (a shell's children).
    const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (chunk: Buffer) => {
      if (output.length < OUTPUT_KEPT) output += chunk.toString('utf8').slice(0, OUTPUT_KEPT - output.length);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let killedBy: string | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // Gone already.
      }
    };
    const stop = (why: string) => {
      if (killedBy !== null || child.pid === undefined) return;
      killedBy = why;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop(`ran longer than its timeout, ${timeoutMs / 1000} s: killed`), timeoutMs);
    const onAbort = () => stop('cut short: the scheduler is stopping');
    signal.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      done();
      reject(new DeliveryError(`could not start ${command[0]}: ${err.code ?? err.message}`, false));
    });
    child.on('exit', (code, sig) => {
      done();
      // Its last output is read until its pipes close; something it left running may hold them open, and
      // would keep this process alive (`run --once`) as long as it runs: they are let go after a moment.
      const letGo = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, OUTPUT_GRACE_MS);
      child.once('close', () => {
        clearTimeout(letGo);
        settle(code, sig);
      });
    });
    const settle = (code: number | null, sig: NodeJS.Signals | null) => {
      if (killedBy !== null) {
        // What it started may still be running: the group goes too, after the same grace.
        clearTimeout(killTimer);
        killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
        killTimer.unref();
        reject(new DeliveryError(killedBy, false));
      } else if (code === 0) {
        resolve();
      } else {
        const said = output.trim().replace(/\s+/g, ' ');
        reject(new DeliveryError(`${command[0]} ${code === null ? `was killed by ${sig}` : `exited ${code}`}${said ? `: ${said}` : ''}`, false));
      }
    };
  });
}
