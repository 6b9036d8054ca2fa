// Watches the POSIX locks one process holds, in /proc/locks. `ctl_backups` locks a backup's data file
// for as long as it works on it (compact also the new file it renames over the old), and backupd answers
// an XBACKUP of that user `Mailbox is locked` meanwhile; so the span from the tool's first lock to its
// last is how long backupd is kept from that user's backup.
import { readFileSync } from 'node:fs';

export interface LockSpan {
  /** From the first poll that saw a lock of the process to the last one, in ms (polls are about 1 ms apart). */
  heldMs: number;
  /** When it was first seen, in ms after the watch began (undefined: never seen). */
  firstSeenMs: number | undefined;
}

export class LockWatch {
  private readonly started = performance.now();
  private parent: number | undefined;
  private pid: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private first: number | undefined;
  private last: number | undefined;
  private readonly seenListeners: Array<() => void> = [];

  /** Watches the first child of `parent` (given once it is spawned), the program a wrapper runs. */
  watchChildOf(parent: number): void {
    this.parent = parent;
    this.poll();
  }

  /** Resolves when the process is first seen holding a lock. */
  seen(): Promise<void> {
    if (this.first !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.seenListeners.push(resolve));
  }

  stop(): LockSpan {
    clearTimeout(this.timer);
    this.timer = undefined;
    const heldMs = this.first === undefined || this.last === undefined ? 0 : this.last - this.first;
    return { heldMs, firstSeenMs: this.first };
  }

  private poll = (): void => {
    this.pid ??= this.childOf(this.parent!);
    if (this.pid !== undefined && this.holdsLock(this.pid)) {
      const now = performance.now() - this.started;
      if (this.first === undefined) {
        this.first = now;
        for (const listener of this.seenListeners.splice(0)) listener();
      }
      this.last = now;
    }
    this.timer = setTimeout(this.poll, 1);
  };

  private childOf(parent: number): number | undefined {
    try {
      const children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim();
      return children ? Number(children.split(' ')[0]) : undefined;
    } catch {
      return undefined; // not forked yet, or already gone
    }
  }

  /** `1: POSIX  ADVISORY  WRITE <pid> <maj:min:inode> <start> <end>`; waiters' lines have `->` and hold nothing. */
  private holdsLock(pid: number): boolean {
    const owner = String(pid);
    return readFileSync('/proc/locks', 'utf8')
      .split('\n')
      .some((line) => {
        const fields = line.trim().split(/\s+/);
        return fields[1] !== '->' && fields[4] === owner;
      });
  }
}
