// The exec hook: the admin's command, run once per event, with the event in its environment. No shell
// unless the command is one; a command that outlives its timeout is killed with everything it started.
import { runBounded } from '../scheduler/bounded-child.js';
import { DeliveryError } from './delivery-queue.js';

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
export async function runHookCommand({ command, env, timeoutMs, signal }: HookRun): Promise<void> {
  const exit = await runBounded({
    argv: command,
    env,
    timeoutMs,
    timeoutText: `ran longer than its timeout, ${timeoutMs / 1000} s: killed`,
    signal,
    outputLimit: OUTPUT_KEPT,
    overLimit: { keep: true },
  });
  if (exit.startError !== undefined) throw new DeliveryError(`could not start ${command[0]}: ${exit.startError}`, false);
  if (exit.stoppedBy !== null) throw new DeliveryError(exit.stoppedBy, false);
  if (exit.code === 0) return;
  const said = Buffer.concat([exit.stdout, exit.stderr]).toString('utf8').trim().replace(/\s+/g, ' ');
  throw new DeliveryError(`${command[0]} ${exit.code === null ? `was killed by ${exit.signal}` : `exited ${exit.code}`}${said ? `: ${said}` : ''}`, false);
}
