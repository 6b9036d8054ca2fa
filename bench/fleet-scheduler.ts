// What the running scheduler does with a large fleet between its XBACKUPs, in process: rescan the
// backup server, classify every user against the discovery list and its memory, plan, and verify.
import { BackupsDbReader } from '../src/backupd/backups-listing.js';
import { BackupServerScanner, type BackupdView } from '../src/backupd/scan.js';
import { MemoryScanCache } from '../test/support/memory-scan-cache.js';
import { resolveBackupServer } from '../src/cli/backup-server-view.js';
import { reportJsonChunks } from '../src/cli/output/report-json.js';
import { loadConfig } from '../src/config/load.js';
import { planCycle } from '../src/scheduler/plan/plan-cycle.js';
import type { PlanInput, PlanServer } from '../src/scheduler/plan/plan-types.js';
import { verifyBackups } from '../src/scheduler/verify-backups.js';
import { NO_CHUNK } from '../src/scheduler/backup-result.js';
import { classifyUsers, type Classification } from '../src/staleness/classify.js';
import { buildReport } from '../src/staleness/report.js';
import { USER_STATES, type UserState } from '../src/staleness/user-state.js';
import type { FakeFleet } from './fleet-population.js';
import { Samples } from './samples.js';
import type { SyntheticBackupServer } from './synthetic-backup-server.js';

/** XBACKUP commands in flight per server: as many connections as a plan may spread its batches over. */
const MAX_CONCURRENT = 2;

/** A step timed once in a fresh state (what a one-shot `plan` process pays), then `rounds` more times. */
export interface Timed {
  firstMs: number;
  repeat: Samples;
}

export interface PlanFigures extends Timed {
  maxPerCycle: number;
  commands: number;
  planned: number;
  held: number;
  /** Users in the biggest batch command. */
  largestBatch: number;
}

export interface FleetSchedulerResult {
  /** Classified: backups.db's users and the discovered ones. */
  users: number;
  backupsDbEntries: number;
  /** Nothing changed: a stat per index. */
  rescan: Samples;
  classify: Timed;
  /** The warm report as the scheduler could serve it: rescan, classify, build the report, write its JSON. */
  warmReport: Samples;
  plans: PlanFigures[];
  /** verifyBackups for one user after its XBACKUP, backups.db unchanged since the scan: a stat, then that user's index. */
  verifyOne: Samples;
  /** The same after a first backup changed backups.db: all of it is read again. */
  verifyOneReread: Samples;
  states: Record<UserState, number>;
  problems: string[];
}

export async function runFleetSchedulerBenchmark(
  server: SyntheticBackupServer,
  fleet: FakeFleet,
  options: { rounds: number; maxAge: number },
): Promise<FleetSchedulerResult> {
  const config = loadConfig(server.schedulerConfig);
  const paths = resolveBackupServer(config);
  const problems: string[] = [];
  // Shared by the scanner and the checks after each XBACKUP, as openScheduler wires them.
  const backupsDb = new BackupsDbReader(paths);
  const scanner = new BackupServerScanner(backupsDb, new MemoryScanCache());
  // Untimed: the scan bench has timed the first scan; this one only fills the scanner's cache.
  let view = await scanner.scan();

  const classify = (backupd: BackupdView): Classification =>
    classifyUsers({
      backupd,
      discovery: fleet.discovery,
      history: fleet.history,
      policy: { maxAge: options.maxAge, failingAfter: config.policy.failingAfter, maxUnchangedAge: config.policy.maxUnchangedAge },
      now: Date.now(),
    });
  let classification!: Classification;
  const classifyTimed = timed(options.rounds, () => {
    classification = classify(view);
  });

  const rescan = new Samples();
  const warmReport = new Samples();
  for (let round = 0; round < options.rounds; round++) {
    const started = performance.now();
    view = await scanner.scan();
    const scanned = performance.now();
    const now = Date.now();
    const json = [...reportJsonChunks(buildReport(classify(view), { now, maxAge: options.maxAge, verifyEvery: config.maintenance.verifyEvery }))].join('');
    warmReport.add(performance.now() - started);
    rescan.add(scanned - started);
    if (scanner.lastStats.indexesReused !== server.users.length) problems.push(`rescan reused ${scanner.lastStats.indexesReused} of ${server.users.length} indexes`);
    if (json.length === 0) problems.push('the warm report wrote nothing');
  }
  await scanner.close();

  // What CycleRunner.look() does after classifying: the servers as discovery left them, the memory as the planner takes it.
  const plan = (maxPerCycle: number) => {
    const servers: PlanServer[] = fleet.discovery.servers.map((s) => ({
      name: s.name,
      naming: s.naming!,
      maxConcurrent: MAX_CONCURRENT,
      inFlight: 0,
      pausedUntil: null,
      allUserids: s.allUserids,
      sharedMailboxes: s.sharedMailboxes,
    }));
    const input: PlanInput = {
      now: Date.now(),
      refreshFromAge: options.maxAge,
      users: classification.users,
      servers,
      memory: new Map([...fleet.history].map(([userid, m]) => [userid, { nextAttemptAt: m.nextAttemptAt }])),
      inFlightUsers: new Set(),
      maintenanceUsers: new Set(),
      maxPerCycle,
      bootstrap: {
        groupSize: config.bootstrap.groupSize,
        maxGroupBytes: config.bootstrap.maxGroupBytes,
        order: config.bootstrap.order,
        groupInFlight: false,
        nextGroupAt: null,
        stagingShort: false,
        window: null,
        budget: null,
      },
      includeFirstBackups: true,
      refreshWindow: null,
    };
    return planCycle(input);
  };
  const plans = [config.policy.maxPerCycle, server.users.length + fleet.counts.newUsers].map((maxPerCycle): PlanFigures => {
    let result!: ReturnType<typeof plan>;
    const t = timed(options.rounds, () => {
      result = plan(maxPerCycle);
    });
    const largestBatch = Math.max(0, ...result.refreshes.map((c) => c.userids.length));
    return { ...t, maxPerCycle, commands: result.refreshes.length + (result.firstGroup?.users.length ?? 0), planned: result.planned.length, held: result.held.length, largestBatch };
  });

  const someone = server.users.find((u) => u.lastBackup !== null)!;
  const verify = async (reader: BackupsDbReader, into: Samples) => {
    const started = performance.now();
    const [verification] = await verifyBackups(reader, [someone.userid], new Map([[someone.userid, NO_CHUNK]]), new Set([someone.userid]));
    into.add(performance.now() - started);
    if (!verification?.verified) problems.push(`verifyBackups(${someone.userid}) did not verify: ${verification?.reason}`);
  };
  const verifyOne = new Samples();
  const verifyOneReread = new Samples();
  for (let round = 0; round < Math.max(options.rounds, 5); round++) {
    await verify(backupsDb, verifyOne);
    await verify(new BackupsDbReader(paths), verifyOneReread);
  }

  const states = Object.fromEntries(USER_STATES.map((s) => [s, 0])) as Record<UserState, number>;
  for (const u of classification.users) states[u.state]++;
  return { users: classification.users.length, backupsDbEntries: view.entries.length, rescan, classify: classifyTimed, warmReport, plans, verifyOne, verifyOneReread, states, problems };
}

function timed(rounds: number, step: () => void): Timed {
  let started = performance.now();
  step();
  const firstMs = performance.now() - started;
  const repeat = new Samples();
  for (let round = 0; round < rounds; round++) {
    started = performance.now();
    step();
    repeat.add(performance.now() - started);
  }
  return { firstMs, repeat };
}
