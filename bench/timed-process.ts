import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Account } from './cyrus.js';

/** GNU time (Debian package `time`): its %M is the measured process's own peak RSS, which Node cannot see. */
export const GNU_TIME = '/usr/bin/time';

export interface TimedRun {
  wallMs: number;
  peakRssKb: number;
  code: number;
  stdout: string;
  stderr: string;
}

export function gnuTimeAvailable(): boolean {
  return existsSync(GNU_TIME);
}

let runCounter = 0;

/**
 * One fresh process, timed from spawn to exit. Its output goes to files, not pipes, so the benchmark's own
 * reading cannot slow the measured process down. `scratch` must be writable by `as` (GNU time writes there).
 */
export async function runTimed(command: string, args: readonly string[], options: { scratch: string; as?: Account }): Promise<TimedRun> {
  const base = join(options.scratch, `run-${process.pid}-${++runCounter}`);
  const files = { stdout: `${base}.out`, stderr: `${base}.err`, rss: `${base}.rss` };
  const stdoutFd = openSync(files.stdout, 'w');
  const stderrFd = openSync(files.stderr, 'w');
  try {
    const started = process.hrtime.bigint();
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(GNU_TIME, ['-f', '%M', '-o', files.rss, command, ...args], {
        stdio: ['ignore', stdoutFd, stderrFd],
        ...(options.as && { uid: options.as.uid, gid: options.as.gid }),
      });
      child.once('error', (err) => reject(new Error(`cannot run ${command} under ${GNU_TIME}: ${err.message}`)));
      child.once('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
    });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const rssText = readFileSync(files.rss, 'utf8').trim().split('\n');
    return {
      wallMs,
      // GNU time writes "Command exited with non-zero status N" before the format line when the command fails.
      peakRssKb: Number(rssText[rssText.length - 1]),
      code,
      stdout: readFileSync(files.stdout, 'utf8'),
      stderr: readFileSync(files.stderr, 'utf8'),
    };
  } finally {
    closeSync(stdoutFd);
    closeSync(stderrFd);
    for (const file of Object.values(files)) rmSync(file, { force: true });
  }
}
