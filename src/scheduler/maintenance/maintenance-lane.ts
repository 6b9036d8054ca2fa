// The maintenance lane: carries out maintenance-queue.ts's answer beside the cycles, inside
// maintenance.window, at most maintenance.concurrent ctl_backups runs at once, never on a user whose
// XBACKUP is in flight. Each run is Cyrus's own tool through maintenance.command (cyrus-tool.ts); the
// scheduler itself still only reads Cyrus's files.
import type { Logger } from 'pino';
import type { UserStatus } from '../../staleness/classify.js';
import { ALL_DAY, windowState } from '../../units/daily-window.js';
import type { MaintenanceLog, MaintenanceRunVerb, MaintenanceWhy } from '../state/maintenance-log.js';
import type { UserMemory } from '../state/user-memory.js';
import { outcomeText, runCyrusTool, type CyrusToolCommand } from './cyrus-tool.js';
import type { MaintenanceJob, MaintenancePolicy, MaintenanceReason } from './maintenance-queue.js';
import { queueNow, type QueueNow } from './queue-now.js';
import type { MaintenanceStatus } from './maintenance-status.js';
import { verifyVerdict, type VerifyVerdict } from './verify-verdict.js';

const RECENT_RUNS = 10;

export interface MaintenanceLaneDeps {
  tool: CyrusToolCommand;
  policy: MaintenancePolicy;
  concurrent: number;
  memory: UserMemory;
  log: MaintenanceLog;
  /** Users with an XBACKUP in flight right now (the executor's set, read live). */
  xbackupsInFlight: ReadonlySet<string>;
  logger: Logger;
  now: () => number;
  timeZone?: string;
}

interface Running {
  verb: MaintenanceRunVerb;
  reason: MaintenanceReason;
  since: number;
}

export class MaintenanceLane {
  /** Users with a run under way: the planner holds their XBACKUPs until it ends. */
  readonly running = new Map<string, Running>();
  private jobs: MaintenanceJob[] = [];
  private queue: QueueNow | null = null;
  /** Users a run ended for since the fleet the queue came from was classified: not due again from that fleet. */
  private doneSince = new Map<string, number>();
  private toolProblem: string | null = null;
  private stopping = false;
  private readonly stopped = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private watcher: ((status: MaintenanceStatus) => void) | null = null;
  private onSettled: (() => void) | null = null;
  /** Runs ended since the lane last settled. */
  private endedSinceSettled = 0;

  constructor(private readonly deps: MaintenanceLaneDeps) {}

  /**
   * Told of every change of the lane's status (the loop's status page and /metrics read it), and, through
   * `settled`, when runs ended and none is under way or waiting: their verdicts are in the state database.
   */
  watch(watcher: (status: MaintenanceStatus) => void, settled?: () => void): void {
    this.watcher = watcher;
    this.onSettled = settled ?? null;
    watcher(this.status());
  }

  /** A new classification of the fleet (each cycle's): the queue is made again from it, and work starts if it may. */
  offer(users: readonly UserStatus[], classifiedAt: number): void {
    if (this.stopping) return;
    const at = this.deps.now();
    for (const [userid, endedAt] of this.doneSince) if (endedAt < classifiedAt) this.doneSince.delete(userid);
    const busy = new Set([...this.deps.xbackupsInFlight, ...this.running.keys(), ...this.doneSince.keys()]);
    this.queue = queueNow(this.deps, this.deps.policy, users, busy, at, this.deps.timeZone);
    this.jobs = this.queue.jobs;
    // A tool that could not run is tried again with each new fleet, not at every job.
    this.toolProblem = null;
    this.pump();
    this.changed();
  }

  /** Resolves once no run is under way and none may start from the current queue (`run --once`). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
  }

  /** No new runs; waits for those under way up to `graceMs`, then cuts them short (ctl_backups is killed). */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.jobs = [];
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      this.idle().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!ended) {
      this.stopped.abort();
      await this.idle();
    }
  }

  status(): MaintenanceStatus {
    const q = this.queue;
    const due: Record<MaintenanceReason, number> = { recheck: 0, compact: 0, rolling: 0 };
    for (const job of q?.jobs ?? []) due[job.reason]++;
    const window = q?.window ?? null;
    return {
      window: this.deps.policy.window?.text ?? null,
      open: window?.open ?? false,
      opensAt: window?.opensAt ?? null,
      closesAt: window?.closesAt ?? null,
      running: [...this.running].map(([userid, r]) => ({ userid, ...r })),
      due,
      share: q?.share ?? 0,
      rollingUsed: q && window?.openedAt != null ? this.deps.log.rollingSince(window.openedAt) : 0,
      deferred: q?.deferred ?? 0,
      recent: this.deps.log.recent(RECENT_RUNS),
      totals: this.deps.log.totals(),
      toolProblem: this.toolProblem,
    };
  }

  private changed(): void {
    this.watcher?.(this.status());
  }

  /** Starts jobs while the window is open, slots are free, and ctl_backups can run at all. */
  private pump(): void {
    const q = this.queue;
    while (!this.stopping && this.toolProblem === null && q !== null && this.running.size < this.deps.concurrent && this.jobs.length > 0) {
      if (!this.stillOpen()) {
        this.jobs = [];
        break;
      }
      const job = this.jobs.shift()!;
      // Its XBACKUP may have started since the queue was made: it waits for the next fleet.
      if (this.deps.xbackupsInFlight.has(job.userid) || this.running.has(job.userid)) continue;
      this.running.set(job.userid, { verb: 'verify', reason: job.reason, since: this.deps.now() });
      const run = this.carryOut(job)
        .catch((err: unknown) => {
          this.deps.logger.error({ userid: job.userid, err: (err as Error).message }, 'maintenance run failed');
        })
        .finally(() => {
          this.running.delete(job.userid);
          this.doneSince.set(job.userid, this.deps.now());
          this.inFlight.delete(run);
          this.endedSinceSettled++;
          this.pump();
          this.changed();
          if (this.running.size === 0 && this.endedSinceSettled > 0 && (this.jobs.length === 0 || this.toolProblem !== null || this.stopping)) {
            this.endedSinceSettled = 0;
            this.onSettled?.();
          }
        });
      this.inFlight.add(run);
    }
  }

  /** The window, read at each start: an opening that closed while jobs waited takes no more. */
  private stillOpen(): boolean {
    return this.window(this.deps.now()).open;
  }

  private window(at: number) {
    return windowState(this.deps.policy.window ?? ALL_DAY, at, this.deps.timeZone);
  }

  private async carryOut(job: MaintenanceJob): Promise<void> {
    const verdict = await this.verify(job, job.reason === 'compact' ? 'before-compact' : job.reason);
    if (verdict.kind !== 'whole' || this.stopping) return;
    if (job.reason === 'compact') await this.compact(job);
    // Utilisation is asked only when a rule uses it, of a backup just found whole (stat reads the index, and verifies quickly first).
    else if (this.deps.policy.compactBelowUtilisation !== null) await this.stat(job);
  }

  /** `ctl_backups stat`: how much of the data file compaction would keep, for compactBelowUtilisation. */
  private async stat(job: MaintenanceJob): Promise<void> {
    const { log, memory, logger, now, tool } = this.deps;
    this.running.set(job.userid, { verb: 'stat', reason: job.reason, since: now() });
    const id = log.start(job.userid, 'stat', 'utilisation', job.subject.chunks, now());
    const run = await runCyrusTool(tool, 'stat', [job.userid], { signal: this.stopped.signal, now });
    const outcome = run.outcomes[0];
    if (outcome?.status === 'ok' && outcome.utilisation !== undefined) {
      memory.recordUtilisation(job.userid, outcome.utilisation, job.subject.dataFile);
      log.end(id, 'ok', `${outcome.utilisation.toFixed(1)}%`, now());
    } else {
      const problem = run.problem ?? outcomeText(run.outcomes[0]!);
      log.end(id, run.cutShort ? 'interrupted' : 'failed', problem, now());
      logger.warn({ userid: job.userid, error: problem }, 'ctl_backups stat failed');
    }
  }

  /** One `ctl_backups verify` of one backup (Cyrus's reasons name no backup), its verdict recorded. */
  private async verify(job: MaintenanceJob, why: MaintenanceWhy): Promise<VerifyVerdict> {
    const { log, memory, logger, now, tool } = this.deps;
    const id = log.start(job.userid, 'verify', why, job.subject.chunks, now());
    const run = await runCyrusTool(tool, 'verify', [job.userid], { signal: this.stopped.signal, now });
    const verdict = verifyVerdict(run, job.userid, tool.timeoutMs);
    const at = now();
    const fields = { userid: job.userid, reason: job.reason, seconds: run.ms / 1000 };
    switch (verdict.kind) {
      case 'whole':
        memory.recordDeepVerify(job.userid, { at, damage: null, subject: job.subject });
        log.end(id, 'ok', null, at);
        logger.info(fields, 'backup deep-verified: whole');
        break;
      case 'damaged':
        memory.recordDeepVerify(job.userid, { at, damage: verdict.damage, subject: job.subject });
        log.end(id, 'damaged', verdict.damage, at);
        logger.error({ ...fields, damage: verdict.damage }, 'backup damaged: ctl_backups verify found it wrong');
        break;
      case 'not-now':
        log.end(id, 'not-now', verdict.why, at);
        logger.info({ ...fields, why: verdict.why }, 'backup not verified this time');
        break;
      case 'gone':
        log.end(id, 'not-found', null, at);
        break;
      case 'tool-failed':
        log.end(id, 'error', verdict.problem, at);
        this.toolFailed(verdict.problem, run.argv);
        break;
    }
    return verdict;
  }

  /** Compaction of a backup just found whole; its backup time is kept first, since compaction moves the newest chunk's end back. */
  private async compact(job: MaintenanceJob): Promise<void> {
    const { log, memory, logger, now, tool } = this.deps;
    this.running.set(job.userid, { verb: 'compact', reason: job.reason, since: now() });
    this.changed();
    if (job.realBackupAt !== null) memory.keepBackupTime(job.userid, job.realBackupAt);
    const id = log.start(job.userid, 'compact', 'compact', job.subject.chunks, now());
    const run = await runCyrusTool(tool, 'compact', [job.userid], { signal: this.stopped.signal, now });
    const outcome = run.outcomes[0];
    const at = now();
    const fields = { userid: job.userid, why: job.detail, seconds: run.ms / 1000 };
    if (run.cutShort) {
      log.end(id, 'interrupted', 'cut short: the scheduler was stopping', at);
    } else if (outcome?.status === 'ok' || outcome?.status === 'skipped') {
      log.end(id, outcome.status, outcome.detail ?? null, at);
      // Its utilisation is that of the old data file.
      memory.recordUtilisation(job.userid, null, null);
      if (outcome.detail === undefined) {
        logger.info({ ...fields, status: outcome.status }, 'backup compacted');
      } else {
        // `error reading chunk …` before an `ok`: compaction dropped what it could not read, without failing.
        const damage = `ctl_backups compact could not read part of the backup and dropped it: ${outcome.detail}`;
        memory.recordDeepVerify(job.userid, { at, damage, subject: job.subject });
        logger.error({ ...fields, damage }, 'backup damaged: compaction dropped what it could not read');
      }
    } else if (outcome?.status === 'locked' || outcome?.status === 'not-found') {
      log.end(id, outcome.status, null, at);
    } else {
      const problem = run.problem ?? outcomeText(run.outcomes[0]!);
      log.end(id, 'failed', problem, at);
      logger.warn({ ...fields, error: problem }, 'ctl_backups compact failed');
      if (run.problem !== undefined && !run.timedOut) this.toolFailed(run.problem, run.argv);
    }
  }

  private toolFailed(problem: string, argv: readonly string[]): void {
    if (this.toolProblem === null) this.deps.logger.error({ command: argv.join(' '), error: problem }, 'ctl_backups could not run: maintenance waits for the next cycle (check `xbackup-scheduler check`)');
    this.toolProblem = problem;
    this.jobs = [];
  }
}
