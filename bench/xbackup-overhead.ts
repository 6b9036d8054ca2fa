// Spec §8, scheduling overhead: the executor's time per XBACKUP against a bare client sending the same
// commands on one connection, both against the real test bed, so the difference is the tool's own work
// (quoting, imapflow, verification against the index, history in the state database, logging).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { destination, pino } from 'pino';
import { resolveBackupServer } from '../src/cli/backup-server-view.js';
import { loadConfig } from '../src/config/load.js';
import { useridToMailbox } from '../src/imap/mailbox-names.js';
import { openScheduler } from '../src/scheduler/open-scheduler.js';
import type { PlannedCommand } from '../src/scheduler/plan/plan-types.js';
import type { RawImapClient } from '../test/cyrus/raw-imap.js';
import { CyrusTestBed } from '../test/cyrus/testbed.js';
import { writeBedConfig } from '../test/support/bed-config.js';
import { Samples } from './samples.js';

export interface XbackupOverheadOptions {
  users: number;
  rounds: number;
  /** On disk, like /var/lib: the state database's fsyncs are part of the tool's cost. */
  parent: string;
}

/** One contender's rounds: wall time and this process's CPU time, per XBACKUP, in ms. */
export interface PerXbackup {
  wall: Samples;
  cpu: Samples;
}

export interface XbackupOverheadResult {
  users: number;
  bare: PerXbackup;
  tool: PerXbackup;
  problems: string[];
}

const USER_PREFIX = 'xb';

/**
 * Creates `users` small users, backs them all up once (later XBACKUPs are then incremental: an empty
 * chunk each), and times both contenders over every user, alternating which goes first each round.
 */
export async function runXbackupOverheadBenchmark(options: XbackupOverheadOptions): Promise<XbackupOverheadResult> {
  const userids = Array.from({ length: options.users }, (_, i) => `${USER_PREFIX}${String(i + 1).padStart(5, '0')}`);
  const workDir = mkdtempSync(join(options.parent, 'xbackup-bench-overhead-'));
  const problems: string[] = [];
  const bed = await CyrusTestBed.start();
  try {
    for (const userid of userids) await bed.createUser(userid, { messages: 1, messageBytes: 1000 });
    const first = await bed.xbackup(`user.${USER_PREFIX}*`, 'imap1', { timeoutMs: 600_000 });
    if (first.status !== 'OK') throw new Error(`the first backup of the ${options.users} users failed: ${first.status} ${first.text}`);
    await bed.disconnect();

    const config = loadConfig(writeBedConfig(bed, join(workDir, 'config'), { servers: [{ which: 'imap1', settings: { maxConcurrent: 1 } }] }), { secrets: true });
    // As `run` logs (JSON lines, synchronously), into /dev/null so the printout stays readable.
    const logger = pino({ level: 'info', base: { pid: process.pid } }, destination({ dest: '/dev/null', sync: true }));
    const parts = openScheduler(config, resolveBackupServer(config), { logger });
    const client = await bed.connect();
    try {
      const naming = { separator: bed.imap.separator };
      // One command per user, as `backup` and first backups send them: the executor's path with nothing batched.
      const commands: PlannedCommand[] = userids.map((userid) => ({ server: 'imap1', pattern: useridToMailbox(userid, naming), userids: [userid], kind: 'forced' }));
      const bare = async () => {
        for (const userid of userids) {
          const response = await client.command(`XBACKUP ${bed.mailboxName(userid)} ${bed.channel}`);
          if (response.status !== 'OK') problems.push(`bare XBACKUP of ${userid}: ${response.status} ${response.text}`);
        }
      };
      const tool = async () => {
        for (const result of await parts.executor.runAll(commands)) {
          if (result.outcome !== 'ok') problems.push(`executor, ${result.userid}: ${result.outcome} ${result.error ?? ''}`);
        }
      };
      // Untimed: both logged in, and the JIT has seen every path once.
      await warmUp(client, bed, userids[0]!);
      await parts.executor.runAll(commands.slice(0, 1));

      const figures = { bare: { wall: new Samples(), cpu: new Samples() }, tool: { wall: new Samples(), cpu: new Samples() } };
      for (let round = 0; round < options.rounds; round++) {
        const order = round % 2 === 0 ? (['bare', 'tool'] as const) : (['tool', 'bare'] as const);
        for (const name of order) await measure(name === 'bare' ? bare : tool, figures[name], userids.length);
      }
      return { users: userids.length, ...figures, problems: [...new Set(problems)] };
    } finally {
      await client.logout();
      await parts.close();
    }
  } finally {
    await bed.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function warmUp(client: RawImapClient, bed: CyrusTestBed, userid: string): Promise<void> {
  const response = await client.command(`XBACKUP ${bed.mailboxName(userid)} ${bed.channel}`);
  if (response.status !== 'OK') throw new Error(`warm-up XBACKUP of ${userid} failed: ${response.status} ${response.text}`);
}

async function measure(run: () => Promise<void>, into: PerXbackup, count: number): Promise<void> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await run();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  into.wall.add(wallMs / count);
  into.cpu.add((cpu.user + cpu.system) / 1000 / count);
}
