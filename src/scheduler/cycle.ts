import { SHARED_BACKUP_KEY } from '../cyrus-names/cyrus-userid.js';
import type { Logger } from 'pino';
import type { BackupdView, BackupServerScanner } from '../backupd/scan.js';
import type { BackupServerPaths } from '../config/backup-server.js';
import type { Config } from '../config/load.js';
import { discoverFleet } from '../imap/discover-fleet.js';
import type { FleetDiscovery, ServerDiscovery } from '../imap/fleet-discovery.js';
import { assessFleet, type FleetAssessment } from '../staleness/assess-fleet.js';
import type { Classification } from '../staleness/classify.js';
import type { UserHistory } from '../staleness/user-history.js';
import type { BackupResult } from './backup-result.js';
import { compactBackups } from './compact-backups.js';
import { cyrusToolCommand } from './maintenance/cyrus-tool.js';
import type { Executor } from './executor.js';
import type { MaintenanceLog } from './state/maintenance-log.js';
import { planCycle } from './plan/plan-cycle.js';
import { refreshFromAge } from './plan/refresh-ahead.js';
import { sparedBySync } from './plan/spared-by-sync.js';
import { previewBootstrap, type BootstrapPreview } from './plan/bootstrap-preview.js';
import type { CyclePlan, PlanServer, PlannedCommand } from './plan/plan-types.js';
import type { BootstrapGroups } from './state/bootstrap-groups.js';
import type { ServerStates } from './state/server-state.js';
import { breakerOpen } from './plan/settle-attempt.js';
import type { UserMemory } from './state/user-memory.js';
import { settleAll } from './settle-all.js';
import { stagingFreeBytes } from './staging-space.js';
import { useridToMailbox } from '../imap/mailbox-names.js';
import type { AttemptLog } from './state/attempt-log.js';

/** Cycles whose run time counts for refreshing ahead: a slow one is remembered for a few. */
const RECENT_RUNS_KEPT = 5;

export interface CycleDeps {
  config: Config;
  paths: BackupServerPaths;
  scanner: BackupServerScanner;
  executor: Executor;
  memory: UserMemory;
  attempts: AttemptLog;
  serverStates: ServerStates;
  groups: BootstrapGroups;
  /** The ctl_backups runs under way (this process's lane, or the running scheduler's, for `plan`): their users' XBACKUPs wait. */
  maintenanceLog: MaintenanceLog;
  logger: Logger;
  now: () => number;
  /** Throws when this process may no longer work on its state database (see InstanceLock.stillHeld). */
  guard?: () => void;
}

export interface CycleOptions {
  refreshes: boolean;
  firstBackups: boolean;
  /** Set when the caller is stopping: no new command starts. */
  shouldStop?: () => boolean;
  /** Aborted when the caller stops: servers still being asked for their users are not waited for. */
  signal?: AbortSignal;
  /** `plan`: nothing is changed, so a server that cannot be asked is not paused either. */
  dryRun?: boolean;
  /**
   * The schedule's longest gap between cycles, for a long-lived scheduler: users are then backed up ahead of
   * maxAge (plan/refresh-ahead.ts). Without it (`run --once`, `plan`), at maxAge.
   */
  schedulePeriod?: number;
  /**
   * Given the fleet as classified before any command goes out (a long cycle's status need not wait for
   * its end), and again at the end with the cycle's results folded in.
   */
  onFleet?: (fleet: FleetSnapshot) => void;
}

/** The fleet's states at one moment: what a report between cycles shows, without scanning again. */
export interface FleetSnapshot {
  /** When the users were classified (ms); their ages are as of then. */
  at: number;
  maxAge: number;
  classification: Classification;
  /** Why the view is incomplete, when it is (no backups.db yet, IMAP servers that could not be asked). */
  notes: string[];
}

export interface CycleOutcome {
  startedAt: number;
  endedAt: number;
  plan: CyclePlan;
  classification: Classification;
  results: BackupResult[];
  group: number | null;
  /** When the pause after the last first-backup group ends (ms), if one ran. */
  nextGroupAt: number | null;
  /** IMAP servers this cycle could not ask for their users (or knew no answer of, while paused). */
  serversNotAsked: string[];
  /** IMAP servers whose circuit breaker is open at the end of the cycle. */
  pausedServers: string[];
}

/** Everything a cycle knows before it decides: the backup server's files, the fleet, our memory. */
export interface CycleView {
  view: BackupdView;
  discovery: FleetDiscovery | null;
  classification: Classification;
  classifiedAt: number;
  /** Why the view is incomplete, when it is (assessFleet's notes). */
  notes: string[];
  plan: CyclePlan;
  /** When the pause after the last first-backup group ends (ms), if one ran. */
  nextGroupAt: number | null;
}

/**
 * One cycle: scan (incremental), discover (at most every discoverEvery), classify, plan, execute,
 * verify, record. Pure decisions live in classify and planCycle; this is the wiring around them.
 */
export class CycleRunner {
  private discovery: FleetDiscovery | null = null;
  private groupRunning = false;
  /** How long the last cycles took from their start to the end of their refreshes (ms), newest first. */
  private recentRefreshRuns: number[] = [];
  /** The scan and discovery the last cycle classified, for reassess(). */
  private lastLooked: Pick<CycleView, 'view' | 'discovery'> | null = null;

  constructor(private readonly deps: CycleDeps) {}

  async look(options: CycleOptions): Promise<CycleView> {
    const { config, now } = this.deps;
    this.deps.guard?.();
    const scanStarted = now();
    const view = await this.deps.scanner.scan();
    this.deps.logger.info({ ...this.deps.scanner.lastStats, seconds: (now() - scanStarted) / 1000 }, 'backup server scanned');
    const newest = new Map(view.entries.flatMap((e) => (e.index ? [[e.userid, { chunkId: e.index.newestChunkId ?? 0, lastBackup: e.index.lastBackup }] as const] : [])));
    const settled = this.deps.memory.settleInDoubt(newest, now());
    if (settled.length > 0) this.deps.logger.info({ users: settled.length, first: settled.slice(0, 10) }, 'attempts in doubt settled: their servers finished them');
    if (config.servers.length > 0) this.discovery = await this.discover(options);
    const remembered = this.deps.memory.all();
    const classifiedAt = now();
    const { classification, notes } = this.assess(view, this.discovery, remembered, classifiedAt);
    const health = this.deps.serverStates.all();
    const servers: PlanServer[] = config.servers.flatMap((s) => {
      const found = this.discovery?.servers.find((d) => d.name === s.name);
      if (!found?.naming) return [];
      return [{ name: s.name, naming: found.naming, maxConcurrent: s.maxConcurrent, inFlight: this.deps.executor.inFlightOn(s.name), pausedUntil: health.get(s.name)?.pausedUntil ?? null, allUserids: found.allUserids, sharedMailboxes: found.sharedMailboxes }];
    });
    const lastGroupEnd = this.deps.groups.lastEndedAt();
    const nextGroupAt = lastGroupEnd === null ? null : lastGroupEnd + config.bootstrap.pause;
    const minFree = config.bootstrap.minStagingFreeBytes;
    const free = minFree === undefined ? null : stagingFreeBytes(this.deps.paths.stagingPath);
    const maxAge = config.policy.maxAge;
    const refreshFrom = options.schedulePeriod === undefined ? maxAge : refreshFromAge(maxAge, options.schedulePeriod, Math.max(0, ...this.recentRefreshRuns));
    const planAt = now();
    const plan = planCycle({
      now: planAt,
      refreshFromAge: refreshFrom,
      users: options.refreshes ? classification.users : classification.users.filter((u) => u.state === 'missing'),
      servers,
      memory: new Map([...remembered].map(([u, m]) => [u, { nextAttemptAt: m.nextAttemptAt }])),
      inFlightUsers: this.deps.executor.inFlightUsers,
      maintenanceUsers: this.deps.maintenanceLog.usersUnderWay(),
      maxPerCycle: config.policy.maxPerCycle,
      bootstrap: {
        groupSize: config.bootstrap.groupSize,
        maxGroupBytes: config.bootstrap.maxGroupBytes,
        order: config.bootstrap.order,
        groupInFlight: this.groupRunning,
        nextGroupAt,
        stagingShort: minFree !== undefined && free !== null && free < minFree.value,
        window: config.bootstrap.window ?? null,
        budget: config.bootstrap.maxBytesPerWindow === undefined ? null : { maxBytes: config.bootstrap.maxBytesPerWindow, usedBytes: this.deps.groups.bytesThisWindow(config.bootstrap.window ?? null, planAt) },
      },
      includeFirstBackups: options.firstBackups,
      refreshWindow: config.policy.window ?? null,
    });
    if (!options.dryRun) this.recordInSync(classification, remembered, view, plan, refreshFrom, classifiedAt);
    return { view, discovery: this.discovery, classification, classifiedAt, notes, plan, nextGroupAt };
  }

  /** Records the users this reading of their mailboxes spared an XBACKUP (plan/spared-by-sync.ts). */
  private recordInSync(classification: Classification, remembered: ReadonlyMap<string, UserHistory>, view: BackupdView, plan: CyclePlan, refreshFrom: number, at: number): void {
    const planned = new Set(plan.planned.map((p) => p.userid));
    const spared = sparedBySync(classification.users, (userid) => remembered.get(userid)?.lastInSync ?? null, planned, refreshFrom, at);
    if (spared.length === 0) return;
    const naming = new Map(this.discovery?.servers.map((s) => [s.name, s.naming]) ?? []);
    const chunkOf = new Map(view.entries.map((e) => [e.userid, e.index?.newestChunkId ?? null]));
    this.deps.attempts.recordInSync(
      spared.map((u) => ({ userid: u.userid, server: u.server!, pattern: useridToMailbox(u.userid, naming.get(u.server!)!), at: u.lastInSync!, chunk: chunkOf.get(u.userid) ?? null })),
    );
    this.deps.logger.info({ users: spared.length, first: spared.slice(0, 10).map((u) => u.userid) }, 'due by age but in sync with their mailboxes: no XBACKUP');
  }

  /**
   * Asks the servers that are due, side by side: never asked, asked discoverEvery ago, or failed last time.
   * A server paused by its circuit breaker is not asked until the pause ends; what it said last stands (or
   * why it could not say). A server that cannot be asked is paused like one whose XBACKUP failed, so a hung
   * one costs a cycle no more than its step timeout, once per pause.
   */
  private async discover(options: CycleOptions): Promise<FleetDiscovery> {
    const { config, now, executor, logger } = this.deps;
    const at = now();
    const health = this.deps.serverStates.all();
    const pausedUntil = (name: string): number | null => {
      const until = health.get(name)?.pausedUntil ?? null;
      return until !== null && until > at ? until : null;
    };
    const last = new Map(this.discovery?.servers.map((s) => [s.name, s]) ?? []);
    const due = config.servers.filter((s) => {
      const previous = last.get(s.name);
      const fresh = previous?.ok && at - previous.endedAt < config.policy.discoverEvery;
      return !fresh && pausedUntil(s.name) === null;
    });
    const asked = due.length === 0 ? [] : (await discoverFleet(due, logger, now, { signal: options.signal, compare: config.policy.compareLive })).servers;
    if (!options.dryRun && !options.signal?.aborted) {
      for (const d of asked) {
        if (d.ok) this.deps.serverStates.answered(d.name);
        else executor.tripBreaker(due.find((s) => s.name === d.name)!, d.error!, false, 'discovery');
      }
    }
    const answered = new Map(asked.map((d) => [d.name, d]));
    const servers = config.servers.map((s): ServerDiscovery => {
      const known = answered.get(s.name) ?? last.get(s.name);
      if (known) return known;
      const why = health.get(s.name)?.lastError;
      const error = `${s.name}: not asked for its users while paused by its circuit breaker, until ${new Date(pausedUntil(s.name)!).toISOString()}${why ? `, after: ${why}` : ''}`;
      return { name: s.name, ok: false, error, users: [], allUserids: [], sharedMailboxes: [], timeOnly: null, liveProblems: [], naming: null, askedAt: at, endedAt: at };
    });
    return { startedAt: Math.min(...servers.map((s) => s.askedAt)), finishedAt: now(), servers };
  }

  private assess(view: BackupdView, discovery: FleetDiscovery | null, history: ReadonlyMap<string, UserHistory>, at: number): FleetAssessment {
    const { maxAge, failingAfter, maxUnchangedAge } = this.deps.config.policy;
    return assessFleet({ backupd: view, discovery, history, policy: { maxAge, failingAfter, maxUnchangedAge }, now: at });
  }

  private snapshot({ classification, notes }: FleetAssessment, at: number): FleetSnapshot {
    return { at, maxAge: this.deps.config.policy.maxAge, classification, notes };
  }

  /**
   * The last cycle's fleet classified again with the scheduler's memory as it is now (the maintenance lane's
   * verdicts since), from the same scan and discovery; null before any cycle looked.
   */
  reassess(): FleetSnapshot | null {
    const looked = this.lastLooked;
    if (looked === null) return null;
    const at = this.deps.now();
    return this.snapshot(this.assess(looked.view, looked.discovery, this.deps.memory.all(), at), at);
  }

  /** Every group a bootstrap would make now, in order, and the opening of bootstrap.window each may start in (`bootstrap --dry-run`). */
  async previewBootstrap(): Promise<BootstrapPreview> {
    const { classification } = await this.look({ refreshes: false, firstBackups: true, dryRun: true });
    const { groupSize, maxGroupBytes, order, window = null, maxBytesPerWindow } = this.deps.config.bootstrap;
    const now = this.deps.now();
    const candidates = classification.users
      .filter((u) => u.state === 'missing' && !u.inDoubt && u.server !== null && u.userid !== SHARED_BACKUP_KEY)
      .map((u) => ({ userid: u.userid, server: u.server!, sizeBytes: u.mailBytes }));
    const budget = maxBytesPerWindow === undefined ? null : { maxBytes: maxBytesPerWindow, usedBytes: this.deps.groups.bytesThisWindow(window, now) };
    return previewBootstrap(candidates, { groupSize, maxGroupBytes, order, window, budget }, now);
  }

  async run(options: CycleOptions): Promise<CycleOutcome> {
    const startedAt = this.deps.now();
    const looked = await this.look(options);
    this.lastLooked = { view: looked.view, discovery: looked.discovery };
    const { onFleet } = options;
    if (!onFleet) return this.execute(looked, startedAt, options.shouldStop);
    onFleet(this.snapshot(looked, looked.classifiedAt));
    const outcome = await this.execute(looked, startedAt, options.shouldStop);
    // Classified again from the same scan: our history now holds this cycle's verified backups and failures.
    const settledAt = this.deps.now();
    onFleet(this.snapshot(this.assess(looked.view, looked.discovery, this.deps.memory.all(), settledAt), settledAt));
    return outcome;
  }

  /** Carries out a plan made by look(): refreshes and the first-backup group side by side. */
  async execute(looked: CycleView, startedAt: number = this.deps.now(), shouldStop: () => boolean = () => false): Promise<CycleOutcome> {
    const { classification, plan } = looked;
    const refreshes = this.deps.executor.runAll(plan.refreshes, null, shouldStop).then((results) => {
      if (plan.refreshes.length > 0) this.recentRefreshRuns = [this.deps.now() - startedAt, ...this.recentRefreshRuns].slice(0, RECENT_RUNS_KEPT);
      return results;
    });
    const [refreshed, first] = await settleAll([refreshes, this.runGroup(plan, shouldStop)]);
    const nextGroupAt = first.group === null ? looked.nextGroupAt : this.deps.now() + this.deps.config.bootstrap.pause;
    const serversNotAsked = looked.discovery?.servers.filter((s) => !s.ok).map((s) => s.name) ?? [];
    const pausedServers = [...this.deps.serverStates.all()].filter(([, h]) => breakerOpen(h)).map(([name]) => name);
    return { startedAt, endedAt: this.deps.now(), plan, classification, results: [...refreshed, ...first.results], group: first.group, nextGroupAt, serversNotAsked, pausedServers };
  }

  /** The first-backup group: one XBACKUP per user, the group counted as one unit from start to end. */
  private async runGroup(plan: CyclePlan, shouldStop: () => boolean): Promise<{ results: BackupResult[]; group: number | null }> {
    if (!plan.firstGroup || plan.firstGroup.users.length === 0 || shouldStop()) return { results: [], group: null };
    const { groups, executor, config, now } = this.deps;
    const namingOf = new Map(this.discovery?.servers.map((s) => [s.name, s.naming]) ?? []);
    const commands: PlannedCommand[] = plan.firstGroup.users.map((u) => ({
      server: u.server,
      pattern: useridToMailbox(u.userid, namingOf.get(u.server)!),
      userids: [u.userid],
      kind: 'first',
    }));
    this.groupRunning = true;
    const group = groups.start(now(), plan.firstGroup.bytes);
    try {
      const results = await executor.runAll(commands, group, shouldStop);
      if (config.bootstrap.compactAfter) {
        await compactBackups(cyrusToolCommand(config, this.deps.paths.imapdConf), results.filter((r) => r.outcome === 'ok').map((r) => r.userid), this.deps.logger);
      }
      return { results, group };
    } finally {
      groups.end(group, now());
      this.groupRunning = false;
    }
  }
}
