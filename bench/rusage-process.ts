// One fresh process as another user, with its CPU time to the microsecond: GNU time prints CPU in 10 ms
// steps, too coarse for a `ctl_backups verify` of a few ms, so a small python3 parent reads the child's
// rusage from wait4(2) itself. Its pid is the measured program's parent (for /proc/<pid>/task/…/children).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const PYTHON = '/usr/bin/python3';

const WAIT4 = `
import os, sys, time
out, uid, gid, cmd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.setgroups([]); os.setgid(gid); os.setuid(uid)
        os.execv(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(out, 'w') as f:
    f.write(f"{wall * 1000} {(ru.ru_utime + ru.ru_stime) * 1000} {ru.ru_maxrss} {os.waitstatus_to_exitcode(status)}\\n")
`;

export interface RusageRun {
  /** From fork to exit, as the parent saw it (python's own start-up not included). */
  wallMs: number;
  /** User + system CPU time of the program. */
  cpuMs: number;
  peakRssKb: number;
  code: number;
  stdout: string;
  stderr: string;
}

export function python3Available(): boolean {
  return existsSync(PYTHON);
}

let runCounter = 0;

/** Runs `command args` as uid:gid; `onParent` gets the python parent's pid as soon as it is spawned. */
export async function runWithRusage(
  command: string,
  args: readonly string[],
  options: { scratch: string; uid: number; gid: number; onParent?: (pid: number) => void },
): Promise<RusageRun> {
  const base = join(options.scratch, `rusage-${process.pid}-${++runCounter}`);
  const files = { stdout: `${base}.out`, stderr: `${base}.err`, figures: `${base}.fig` };
  const stdoutFd = openSync(files.stdout, 'w');
  const stderrFd = openSync(files.stderr, 'w');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(PYTHON, ['-c', WAIT4, files.figures, String(options.uid), String(options.gid), command, ...args], {
        stdio: ['ignore', stdoutFd, stderrFd],
      });
      if (child.pid !== undefined) options.onParent?.(child.pid);
      child.once('error', (err) => reject(new Error(`cannot run ${command} under ${PYTHON}: ${err.message}`)));
      child.once('close', (exitCode) => (exitCode === 0 ? resolve() : reject(new Error(`${PYTHON} wrapper of ${command} exited ${exitCode}: ${readFileSync(files.stderr, 'utf8')}`))));
    });
    const [wallMs, cpuMs, peakRssKb, code] = readFileSync(files.figures, 'utf8').trim().split(' ').map(Number) as [number, number, number, number];
    return { wallMs, cpuMs, peakRssKb, code, stdout: readFileSync(files.stdout, 'utf8'), stderr: readFileSync(files.stderr, 'utf8') };
  } finally {
    closeSync(stdoutFd);
    closeSync(stderrFd);
    for (const file of Object.values(files)) rmSync(file, { force: true });
  }
}
