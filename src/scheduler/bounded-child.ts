// One way to run another program from the scheduler (Cyrus's maintenance tools, an admin's notification
// command): no shell, its own process group, a deadline, a stop on request, and bounded output, so that a
// hung or chatty program can neither hold the scheduler up nor fill its memory.
import { spawn } from 'node:child_process';

/** After the deadline's SIGTERM, this long before SIGKILL. */
export const KILL_GRACE_MS = 2000;

/** After it exits, how long its output pipes are read before they are let go (something it started may hold them). */
const OUTPUT_GRACE_MS = 500;

export interface BoundedRun {
  argv: readonly string[];
  env: Record<string, string>;
  timeoutMs: number;
  /** Said when the deadline passes, after the program's name: "ran longer than …: killed". */
  timeoutText: string;
  signal?: AbortSignal;
  /** Output bytes (stdout and stderr together) kept at most. */
  outputLimit: number;
  /** Past outputLimit: `keep` stops keeping and lets it run; `stop` kills it, saying `stopText`. */
  overLimit: { keep: true } | { stopText: string };
}

export interface BoundedExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  /** Why it was killed (deadline, output, stop request), or null when it ended by itself. */
  stoppedBy: string | null;
  /** Why it could not start at all (`ENOENT`, …). */
  startError?: string;
}

/** Never rejects: what went wrong is in the answer. */
export function runBounded(run: BoundedRun): Promise<BoundedExit> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let kept = 0;
    let stoppedBy: string | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;
    // Its own process group, so that a deadline also ends what it started (a shell's children). Through
    // sudo, the signal reaches sudo (whose real uid is ours), which passes it on.
    const child = spawn(run.argv[0]!, run.argv.slice(1), { env: run.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // Gone already.
      }
    };
    const stop = (why: string) => {
      if (stoppedBy !== null || child.pid === undefined) return;
      stoppedBy = why;
      child.stdout.destroy();
      child.stderr.destroy();
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const keep = (into: Buffer[]) => (chunk: Buffer) => {
      if (stoppedBy !== null) return;
      const room = run.outputLimit - kept;
      if (chunk.length > room && 'stopText' in run.overLimit) return stop(run.overLimit.stopText);
      if (room > 0) into.push(chunk.subarray(0, room));
      kept += Math.min(chunk.length, Math.max(room, 0));
    };
    child.stdout.on('data', keep(stdout));
    child.stderr.on('data', keep(stderr));
    const timer = setTimeout(() => stop(run.timeoutText), run.timeoutMs);
    const onAbort = () => stop('cut short: the scheduler is stopping');
    run.signal?.addEventListener('abort', onAbort, { once: true });
    if (run.signal?.aborted) onAbort();
    const finish = (code: number | null, sig: NodeJS.Signals | null, startError?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      if (stoppedBy !== null) {
        // What it started may still be running: the group goes too, after the same grace.
        clearTimeout(killTimer);
        killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
        killTimer.unref();
      }
      resolve({ code, signal: sig, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), stoppedBy, ...(startError === undefined ? {} : { startError }) });
    };
    child.on('error', (e: NodeJS.ErrnoException) => finish(null, null, e.code ?? e.message));
    child.on('exit', (code, sig) => {
      // Its last output is read until its pipes close; something it left running may hold them open, and
      // would keep this process alive (`run --once`) as long as it runs: they are let go after a moment.
      const letGo = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, OUTPUT_GRACE_MS);
      child.once('close', () => {
        clearTimeout(letGo);
        finish(code, sig);
      });
    });
  });
}
