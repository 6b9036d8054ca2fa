// One mode of in-sync-run.ts: a fresh state database and config, every user backed up once (so both
// modes start from the same fleet), then `run` for the timed minutes while mail arrives and a report is
// polled, SIGTERM, and what it cost read from the state database and the indexes.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CyrusTestBed } from '../test/cyrus/testbed.js';
import { writeBedConfig } from '../test/support/bed-config.js';
import { runCliProcess, startCliProcess } from '../test/support/run-cli.js';
import { readAttempts, type AttemptRow } from '../test/support/state-db-reader.js';
import { pollWorstAge, type WorstAge } from './in-sync-age-poll.js';
import { deliverMail, type Delivery } from './in-sync-mail.js';
import { indexCounts } from '../test/support/index-counts.js';
import { chunksAdded, costsOf, messageWaits, unprompted, type Costs, type MessageWaits } from './in-sync-measure.js';

export const POLICY = { schedule: '*/10 * * * * *', maxAge: '2m', discoverEvery: '30s' } as const;
export const MAX_AGE_MS = 120_000;
export const SCHEDULE_PERIOD_MS = 10_000;

export interface ModeSettings {
  label: string;
  compareLive: boolean;
  minutes: number;
  seed: number;
  userids: readonly string[];
  workDir: string;
}

export interface ModeResult {
  label: string;
  /** When the timed part began (run spawned) and ended (SIGTERM sent), ms. */
  startedAt: number;
  endedAt: number;
  costs: Costs;
  chunks: number;
  waits: MessageWaits;
  deliveries: Delivery[];
  worstAge: WorstAge;
  /** XBACKUPs of users that had no new mail since their previous backup. */
  unprompted: AttemptRow[];
  /** The users with the most XBACKUPs, most first. */
  busiest: Array<{ userid: string; attempts: number }>;
  /** How long `backup '*'` took to set the start up, and `run`'s exit after SIGTERM. */
  startBackupMs: number;
  exit: { code: number | string; ms: number };
  load: { before: number[]; after: number[] };
  problems: string[];
}

export async function runMode(bed: CyrusTestBed, s: ModeSettings): Promise<ModeResult> {
  const dir = join(s.workDir, s.label);
  const policy = `policy:\n  schedule: "${POLICY.schedule}"\n  maxAge: ${POLICY.maxAge}\n  discoverEvery: ${POLICY.discoverEvery}\n  compareLive: ${s.compareLive}\n`;
  const config = writeBedConfig(bed, dir, { extra: policy });
  const problems: string[] = [];

  // The same start for both modes: every user backed up just now, one XBACKUP each, in this mode's history.
  const setupStarted = Date.now();
  const start = await runCliProcess(['backup', '*', '-c', config], { timeoutMs: 900_000 });
  if (start.code !== 0) throw new Error(`${s.label}: backup '*' exited ${start.code}\n${start.stdout.slice(-2000)}\n${start.stderr.slice(-2000)}`);
  const startBackupMs = Date.now() - setupStarted;
  const before = await indexCounts(bed, 'chunk');

  const load = { before: os.loadavg(), after: [] as number[] };
  const startedAt = Date.now();
  const run = startCliProcess(['run', '-c', config]);
  let exitedEarly = false;
  void run.exited.then(() => (exitedEarly = true));
  const stopPolling = new AbortController();
  const poll = pollWorstAge(config, stopPolling.signal).catch((error: Error) => {
    problems.push(`report poll: ${error.message}`);
    return null;
  });
  const mail = deliverMail(bed, s.userids, s.seed, startedAt, s.minutes).catch((error: Error) => {
    problems.push(`mail delivery: ${error.message}`);
    return [] as Delivery[];
  });
  await Promise.race([sleep(startedAt + s.minutes * 60_000 - Date.now()), run.exited]);
  if (exitedEarly) {
    stopPolling.abort();
    throw new Error(`${s.label}: run exited early (${await run.exited})\n${run.output().stderr.slice(-4000)}`);
  }
  const endedAt = Date.now();
  run.child.kill('SIGTERM');
  const code = await run.exited;
  const exit = { code, ms: Date.now() - endedAt };
  load.after = os.loadavg();
  stopPolling.abort();
  const deliveries = await mail;
  const worstAge = (await poll) ?? { seconds: NaN, userid: null, at: null, reports: 0, problems: [] };
  problems.push(...worstAge.problems);
  if (code !== 0) problems.push(`${s.label}: run exited ${code} after SIGTERM`);
  const output = run.output();
  writeFileSync(join(dir, 'run.log'), output.stderr + output.stdout);

  const after = await indexCounts(bed, 'chunk');
  const attempts = readAttempts(join(dir, 'state.db'));
  const timed = attempts.filter((a) => a.started_at >= startedAt);
  const perUser = new Map<string, number>();
  for (const a of timed) if (a.outcome !== 'in-sync') perUser.set(a.userid, (perUser.get(a.userid) ?? 0) + 1);
  return {
    label: s.label,
    startedAt,
    endedAt,
    costs: costsOf(attempts, startedAt, endedAt),
    chunks: chunksAdded(before, after),
    waits: messageWaits(timed, deliveries, endedAt),
    deliveries,
    worstAge,
    unprompted: unprompted(attempts, deliveries, startedAt),
    busiest: [...perUser].map(([userid, n]) => ({ userid, attempts: n })).sort((x, y) => y.attempts - x.attempts).slice(0, 3),
    startBackupMs,
    exit,
    load,
    problems,
  };
}
