// A folder whose disk can be made full on demand, for the state database's disk-full test.
//
// As root with CAP_SYS_ADMIN it is a tmpfs of its own (`mount -t tmpfs -o size=...`): filling it with
// a filler file makes every write that needs a new block fail with ENOSPC, exactly as on a full
// /var. Where mounting is not allowed (an unprivileged container, a non-root user) it is a plain
// folder, and "full" is RLIMIT_FSIZE set on the scheduler's process (prlimit, from util-linux):
// writes past the limit fail with EFBIG (node ignores SIGXFSZ), which SQLite reports as an I/O error
// rather than SQLITE_FULL. The file size limit works on a tmpfs too, so a test can take both ways in
// turn; XBS_FAULT_DISK=rlimit takes only the second even where the first would work.
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, fstatSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** How the disk is made full: a filler file on the tmpfs, or a file size limit on the process. */
export type SmallDiskMode = 'tmpfs' | 'rlimit';

const FILLER = '.filler';
const BLOCK = 4096;

export class SmallDisk {
  private constructor(
    readonly dir: string,
    /** tmpfs when one could be mounted, else a plain folder that only a file size limit makes full. */
    readonly mode: SmallDiskMode,
    /** Why there is no tmpfs, when there is none. */
    readonly whyNotTmpfs: string | null,
  ) {}

  /** A folder `dir` (created): a tmpfs of `bytes` when it can be mounted, else a plain folder. */
  static create(dir: string, bytes: number): SmallDisk {
    mkdirSync(dir, { recursive: true });
    if (process.env.XBS_FAULT_DISK === 'rlimit') return new SmallDisk(dir, 'rlimit', 'XBS_FAULT_DISK=rlimit');
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir], { encoding: 'utf8', timeout: 10_000 });
    if (mounted.status === 0) return new SmallDisk(dir, 'tmpfs', null);
    const why = (mounted.error?.message ?? mounted.stderr).trim() || `mount exited ${mounted.status}`;
    return new SmallDisk(dir, 'rlimit', why);
  }

  /** The ways this disk can be made full: both on a tmpfs, only the limit on a plain folder. */
  ways(): SmallDiskMode[] {
    return this.mode === 'tmpfs' ? ['tmpfs', 'rlimit'] : ['rlimit'];
  }

  /**
   * Makes the disk full for the scheduler `pid`, leaving about `slackBytes` it can still write. tmpfs:
   * a filler file takes every free block but the slack. rlimit: the process may not write past the
   * state database's WAL (where SQLite appends every transaction) plus the slack.
   */
  fill(way: SmallDiskMode, pid: number, stateFile: string, slackBytes: number): void {
    if (way === 'tmpfs') {
      fillUp(join(this.dir, FILLER), slackBytes);
      return;
    }
    const limit = sizeOf(`${stateFile}-wal`) + slackBytes;
    const set = spawnSync('prlimit', ['--pid', String(pid), `--fsize=${limit}:${limit}`], { encoding: 'utf8', timeout: 10_000 });
    if (set.status !== 0) throw new Error(`prlimit --pid ${pid} --fsize=${limit}: ${set.error?.message ?? set.stderr}`);
  }

  /**
   * The command that starts `argv` on a disk that is full right away (no slack): nothing more,
   * under tmpfs, once filled up; under rlimit, the program started by prlimit with a 1-byte limit.
   */
  fullFromStart(way: SmallDiskMode, argv: readonly string[]): string[] {
    if (way === 'tmpfs') {
      fillUp(join(this.dir, FILLER), 0);
      return [...argv];
    }
    return ['prlimit', '--fsize=1:1', ...argv];
  }

  /** Space back: the filler goes (rlimit needs nothing: a new process starts without the limit). */
  free(): void {
    rmSync(join(this.dir, FILLER), { force: true });
  }

  /** Unmounts (tmpfs) and deletes the folder. */
  remove(): void {
    if (this.mode === 'tmpfs') spawnSync('umount', ['-l', this.dir], { timeout: 10_000 });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Grows the filler until the filesystem refuses, then gives back `slackBytes` (whole blocks). */
function fillUp(filler: string, slackBytes: number): void {
  const fd = openSync(filler, 'a');
  try {
    for (const size of [1 << 20, BLOCK]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
    const size = fstatSync(fd).size;
    ftruncateSync(fd, Math.max(0, size - Math.ceil(slackBytes / BLOCK) * BLOCK));
  } finally {
    closeSync(fd);
  }
}
