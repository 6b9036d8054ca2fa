import type { Logger } from 'pino';
import type { BackupsDbReader } from '../backupd/backups-listing.js';
import type { ServerConfig } from '../config/load.js';
import { connectionError } from '../imap/admin-session.js';
import { ImapConnectionError } from '../imap/imap-connection-error.js';
import { runXbackup, type XbackupRun } from '../imap/xbackup.js';
import type { BackupResult } from './backup-result.js';
import type { PlannedCommand } from './plan/plan-types.js';
import type { SessionPool } from './session-pool.js';
import { settleAll } from './settle-all.js';
import type { AttemptKind, AttemptLog } from './state/attempt-log.js';
import { StateDbError } from './state/state-db-error.js';
import type { ServerStates } from './state/server-state.js';
import type { RetryPolicy, UserMemory } from './state/user-memory.js';
import { verifiedResults } from './verified-results.js';
import { readChunkMarks } from './verify-backups.js';
import type { ChunkMark } from './backup-result.js';

export interface ExecutorDeps {
  servers: ReadonlyMap<string, ServerConfig>;
  /** Shared with the scanner: read again only when a first backup changed it. */
  backupsDb: BackupsDbReader;
  attempts: AttemptLog;
  memory: UserMemory;
  serverStates: ServerStates;
  pool: SessionPool;
  retry: RetryPolicy;
  logger: Logger;
  onResult?: (result: BackupResult) => void;
  now?: () => number;
  random?: () => number;
}

/** Failures of a whole command that say the server or its channel is down, not one user. */
const BREAKER_KINDS = new Set(['backupd-unreachable', 'connection-dropped', 'disabled', 'removed', 'not-admin']);

/**
 * Runs planned XBACKUP commands: records every attempt before and after, verifies each OK against the
 * index, settles backoff, and trips a server's circuit breaker when its connection or channel is down.
 * Tracks what is in flight so the planner never sends the same user twice at once.
 */
export class Executor {
  readonly inFlightUsers = new Set<string>();
  private readonly inFlightPerServer = new Map<string, number>();
  private readonly now: () => number;
  /** Set once the state database refused a write: no further command starts, since it could not be recorded. */
  private halted: StateDbError | null = null;

  constructor(private readonly deps: ExecutorDeps) {
    this.now = deps.now ?? Date.now;
  }

  private paused(server: string): boolean {
    const until = this.deps.serverStates.all().get(server)?.pausedUntil;
    return until !== undefined && until !== null && until > this.now();
  }

  inFlightOn(server: string): number {
    return this.inFlightPerServer.get(server) ?? 0;
  }

  /** Runs commands, at most servers[].maxConcurrent at once per server, in the given order. */
  async runAll(commands: readonly PlannedCommand[], group: number | null = null, shouldStop: () => boolean = () => false): Promise<BackupResult[]> {
    const results: BackupResult[] = [];
    const byServer = new Map<string, PlannedCommand[]>();
    for (const c of commands) byServer.set(c.server, [...(byServer.get(c.server) ?? []), c]);
    await settleAll(
      [...byServer].map(async ([name, queue]) => {
        const server = this.deps.servers.get(name);
        if (!server) throw new Error(`internal: planned a command for unknown server ${name}`);
        const slots = Math.max(1, server.maxConcurrent - this.inFlightOn(name));
        // A command that trips the breaker stops the rest of this server's queue: they would fail the same way.
        const worker = async () => {
          for (let c = queue.shift(); c && !this.halted && !shouldStop() && !this.paused(name); c = queue.shift()) {
            results.push(...(await this.run(c, group).catch((err: unknown) => this.halt(err))));
          }
        };
        await settleAll(Array.from({ length: Math.min(slots, queue.length) }, worker));
      }),
    );
    return results;
  }

  /** Rethrows; a failure of the state database also stops every worker, in this runAll and any other. */
  private halt(err: unknown): never {
    if (err instanceof StateDbError && !this.halted) {
      this.halted = err;
      this.deps.logger.error({ err: err.message, inFlight: this.inFlightUsers.size }, 'no further XBACKUP is sent: the state database cannot be written; waiting for those in flight');
    }
    throw err;
  }

  /** One XBACKUP command from start to recorded, verified results. */
  async run(command: PlannedCommand, group: number | null): Promise<BackupResult[]> {
    const server = this.deps.servers.get(command.server)!;
    const kind: AttemptKind = command.kind;
    // What each user's index holds before the command: its result is judged against this, never by times.
    const before = await readChunkMarks(this.deps.backupsDb, command.userids);
    // An earlier attempt in doubt that the index has settled since is a success, before this one counts.
    this.deps.memory.settleInDoubt(before, this.now());
    const startedAt = this.now();
    const ids = this.deps.attempts.start(
      command.userids.map((userid) => ({ userid, server: server.name, kind, group, pattern: command.pattern, startedAt, chunkBefore: before.get(userid)!.chunkId })),
    );
    command.userids.forEach((u) => this.inFlightUsers.add(u));
    this.inFlightPerServer.set(server.name, this.inFlightOn(server.name) + 1);
    try {
      const results = await this.execute(server, command, before, startedAt, group);
      this.record(results, ids, server.name);
      return results;
    } finally {
      command.userids.forEach((u) => this.inFlightUsers.delete(u));
      this.inFlightPerServer.set(server.name, this.inFlightOn(server.name) - 1);
    }
  }

  private async execute(server: ServerConfig, command: PlannedCommand, before: ReadonlyMap<string, ChunkMark>, startedAt: number, group: number | null): Promise<BackupResult[]> {
    let run: XbackupRun;
    try {
      const session = await this.deps.pool.acquire(server);
      try {
        run = await runXbackup(session, command.pattern, server.channel, { timeoutMs: server.commandTimeout, now: this.now });
      } finally {
        this.deps.pool.release(session);
      }
    } catch (err) {
      // Could not even log in: the users were not touched, so they are not in doubt.
      const error = err instanceof ImapConnectionError ? err : connectionError(server.name, err);
      this.tripBreaker(server, error.message, false);
      const seconds = (this.now() - startedAt) / 1000;
      return command.userids.map(
        (userid): BackupResult => ({ userid, server: server.name, outcome: 'error', startedAt, seconds, error: error.message, inDoubt: false, locked: false, group, verifiedBackupAt: null, chunks: null }),
      );
    }
    this.updateBreaker(server, run);
    return verifiedResults(run, command.userids, before, this.deps.backupsDb, group);
  }

  private record(results: BackupResult[], ids: number[], server: string): void {
    const endedAt = this.now();
    this.deps.attempts.end(
      results.map((r, i) => [ids[i]!, { endedAt, outcome: r.outcome, error: r.error, locked: r.locked, inDoubt: r.inDoubt, chunkAfter: r.chunks?.after?.chunkId ?? null }] as const),
    );
    this.deps.memory.settle(
      results.map((r, i) => ({
        userid: r.userid,
        attemptId: ids[i]!,
        outcome: r.outcome,
        locked: r.locked,
        inDoubt: r.inDoubt,
        verifiedBackupAt: r.verifiedBackupAt,
        chunks: r.chunks,
      })),
      this.deps.retry,
      endedAt,
      this.deps.random,
    );
    for (const r of results) {
      this.deps.logger.info({ userid: r.userid, server, outcome: r.outcome, seconds: r.seconds, error: r.error ?? undefined, inDoubt: r.inDoubt || undefined }, 'backup attempt');
      this.deps.onResult?.(r);
    }
  }

  private updateBreaker(server: ServerConfig, run: XbackupRun): void {
    if (run.failure && BREAKER_KINDS.has(run.failure.kind)) {
      this.tripBreaker(server, run.failure.message, run.failure.kind === 'connection-dropped');
    } else if (run.items.some((i) => i.ok)) {
      this.deps.serverStates.reset(server.name);
    }
  }

  private tripBreaker(server: ServerConfig, error: string, dropped: boolean): void {
    const health = this.deps.serverStates.trip(server.name, error, dropped, this.deps.retry, this.now(), this.deps.random);
    const channelHint =
      health.droppedInARow >= 2
        ? `; the connection dropped ${health.droppedInARow} times in a row during XBACKUP: channel ${server.channel} is probably not configured on ${server.name} (imapd crashes then)`
        : '';
    this.deps.logger.warn({ server: server.name, pausedUntil: new Date(health.pausedUntil!).toISOString(), error: `${error}${channelHint}` }, 'server paused');
  }
}
