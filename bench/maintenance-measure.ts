// One user's maintenance, timed: `ctl_backups list` (the peer: it hashes the data file up to its last
// chunk), `verify` and `compact`, each a fresh process as the backups' owner, as the scheduler will run
// them, with the data file's lock watched in /proc/locks while it runs.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CyrusTestBed } from '../test/cyrus/testbed.js';
import { LockWatch } from './lock-watch.js';
import { backupShape, type BackupShape, type Group } from './maintenance-fleet.js';
import { runWithRusage, type RusageRun } from './rusage-process.js';

const CTL_BACKUPS = '/usr/lib/cyrus/bin/ctl_backups';

export interface ToolRun {
  wallMs: number;
  cpuMs: number;
  /** How long the tool held the data file's lock (backupd answers `Mailbox is locked` meanwhile). */
  lockMs: number;
}

export interface UserFigures {
  userid: string;
  group: Group;
  before: BackupShape;
  after: BackupShape;
  list: ToolRun;
  verify: ToolRun;
  compact: ToolRun;
}

/** A concurrent XBACKUP of the user while `compact` holds its lock: what backupd's clients see. */
export interface LockProbe {
  userid: string;
  /** `NO ... Mailbox is locked` answers while the lock was held. */
  lockedAnswers: number;
  /** From the lock first seen in /proc/locks to the sending of the first XBACKUP answered OK (each refused one takes a round trip). */
  refusedMs: number;
  /** The same compaction's lock time as /proc/locks saw it. */
  watchedLockMs: number;
  firstRefusal: string;
}

export class MaintenanceMeasurer {
  private readonly scratch: string;
  readonly problems: string[] = [];
  /** Runs whose lock no poll saw (held under about a millisecond). */
  readonly unseenLocks: string[] = [];

  constructor(private readonly bed: CyrusTestBed) {
    this.scratch = join(bed.dir, 'bench-scratch');
    mkdirSync(this.scratch, { recursive: true });
  }

  /** list, verify, compact, then verify again (untimed: compaction must leave a sound backup). */
  async measure(userid: string, group: Group, dataPath: string): Promise<UserFigures> {
    const before = backupShape(dataPath);
    const list = await this.run(userid, ['list', '-u', userid], (out) => out.includes(`\t${userid}\t`));
    const verify = await this.run(userid, ['verify', '-u', userid]);
    const compact = await this.run(userid, ['compact', '-u', userid]);
    const after = backupShape(dataPath);
    await this.run(userid, ['verify', '-u', userid]);
    return { userid, group, before, after, list, verify, compact };
  }

  /**
   * Compacts the user while a second connection sends `XBACKUP` of it from the moment the lock is
   * seen until one is answered OK, as backupd's real client would keep retrying.
   */
  async probe(userid: string): Promise<LockProbe> {
    const client = await this.bed.connect();
    try {
      const watch = new LockWatch();
      const tool = this.spawnTool(['compact', '-u', userid], watch);
      let lockedAnswers = 0;
      let firstRefusal = '';
      let refusedMs = 0;
      const seen = await Promise.race([watch.seen().then(() => true), tool.then(() => false)]);
      if (seen) {
        const from = performance.now();
        for (;;) {
          const sent = performance.now();
          const response = await client.command(`XBACKUP ${this.bed.mailboxName(userid)} ${this.bed.channel}`);
          const text = [...response.untagged, response.text].join(' | ');
          // Cyrus may say `* NO USER ... (Mailbox is locked)` untagged whatever the tagged status.
          if (!/locked/i.test(text)) {
            if (response.status === 'OK') {
              refusedMs = sent - from;
              break;
            }
            throw new Error(`probe XBACKUP of ${userid}: ${response.status} ${text}`);
          }
          lockedAnswers++;
          firstRefusal ||= text;
        }
      } else {
        this.problems.push(`probe: the compaction of ${userid} ended before its lock was seen in /proc/locks`);
      }
      const run = await tool;
      const span = watch.stop();
      if (run.code !== 0) this.problems.push(`probe compact of ${userid}: exit ${run.code}: ${run.stderr.trim()}`);
      return { userid, lockedAnswers, refusedMs, watchedLockMs: span.heldMs, firstRefusal };
    } finally {
      await client.logout();
    }
  }

  private spawnTool(args: string[], watch: LockWatch): Promise<RusageRun> {
    const { uid, gid } = this.bed.backupAccount;
    return runWithRusage(CTL_BACKUPS, ['-C', this.bed.backup.confPath, ...args], { scratch: this.scratch, uid, gid, onParent: (pid) => watch.watchChildOf(pid) });
  }

  private async run(userid: string, args: string[], outputOk?: (stdout: string) => boolean): Promise<ToolRun> {
    const watch = new LockWatch();
    const run = await this.spawnTool(args, watch);
    const span = watch.stop();
    if (run.code !== 0 || (outputOk && !outputOk(run.stdout))) {
      this.problems.push(`ctl_backups ${args.join(' ')}: exit ${run.code}: ${(run.stderr || run.stdout).trim().slice(0, 300)}`);
    }
    // A lock held for less than a poll apart can slip between two polls: counted, its time taken as 0.
    if (span.firstSeenMs === undefined) this.unseenLocks.push(`${args[0]} ${userid}`);
    return { wallMs: run.wallMs, cpuMs: run.cpuMs, lockMs: span.heldMs };
  }
}
