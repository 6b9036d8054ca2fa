import type { Logger } from 'pino';
import type { BackupsDbReader } from '../backupd/backups-listing.js';
import type { ServerConfig } from '../config/load.js';
import { connectionError } from '../imap/admin-session.js';
import { ImapConnectionError } from '../imap/imap-connection-error.js';
import { OTHER_LINES_KEPT, runXbackup, type XbackupRun } from '../imap/xbackup.js';
import { SHARED_BACKUP_KEY } from '../cyrus-names/cyrus-userid.js';
import { attemptLogLevel, type BackupResult } from './backup-result.js';
import type { PlannedCommand } from './plan/plan-types.js';
import { tripsBreaker } from './plan/settle-attempt.js';
import type { SessionPool } from './session-pool.js';
import { settleAll } from './settle-all.js';
import type { AttemptKind, AttemptLog } from './state/attempt-log.js';
import { StateDbError } from './state/state-db-error.js';
import type { ServerStates } from './state/server-state.js';
import type { RetryPolicy, UserMemory } from './state/user-memory.js';
import { sweptResults, verifiedResults } from './verified-results.js';
import { listInboxes } from '../imap/list-inboxes.js';
import { useridToMailbox } from '../imap/mailbox-names.js';
import type { AdminSession } from '../imap/admin-session.js';
import { batchPatterns, type PatternBatch } from './plan/batch-patterns.js';
import { readChunkMarks } from './verify-backups.js';
import type { ChunkMark } from './backup-result.js';
import { plural } from '../text/plural.js';

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
  /** Throws when this process may no longer work on its state database (see InstanceLock.stillHeld). */
  guard?: () => void;
  now?: () => number;
  random?: () => number;
}

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

  /**
   * XBACKUP commands under way, fleet-wide: from the attempt written as started (the login may still be
   * going on) to its result recorded. What a shutdown waits for, and leaves in doubt past its grace.
   */
  get xbackupsInFlight(): number {
    let n = 0;
    for (const count of this.inFlightPerServer.values()) n += count;
    return n;
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
    this.deps.guard?.();
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
      const { results, swept } = await this.execute(server, command, before, startedAt, group);
      this.record(results, ids, server.name);
      this.recordSwept(swept, command);
      return [...results, ...swept];
    } finally {
      command.userids.forEach((u) => this.inFlightUsers.delete(u));
      this.inFlightPerServer.set(server.name, this.inFlightOn(server.name) - 1);
    }
  }

  private async execute(
    server: ServerConfig,
    command: PlannedCommand,
    before: ReadonlyMap<string, ChunkMark>,
    startedAt: number,
    group: number | null,
  ): Promise<{ results: BackupResult[]; swept: BackupResult[] }> {
    const results: BackupResult[] = [];
    const swept: BackupResult[] = [];
    const failAll = (userids: readonly string[], error: string) =>
      userids.map((userid): BackupResult => ({ userid, server: server.name, outcome: 'error', startedAt, seconds: (this.now() - startedAt) / 1000, error, inDoubt: false, connectionDropped: false, locked: false, group, verifiedBackupAt: null, chunks: null, pattern: null }));
    let parts: PatternBatch[] = [];
    let sent = 0;
    try {
      const session = await this.deps.pool.acquire(server);
      try {
        if (command.mailboxes) {
          const run = await this.runShared(session, command.mailboxes);
          this.updateBreaker(server, run);
          return { results: await verifiedResults(run, command.userids, before, this.deps.backupsDb, group), swept };
        }
        parts = await this.withoutNewUsers(session, command);
        for (const part of parts) {
          const run = await this.xbackup(session, part.pattern, part.userids);
          sent++;
          this.updateBreaker(server, run);
          results.push(...(await verifiedResults(run, part.userids, before, this.deps.backupsDb, group)));
          swept.push(...(await sweptResults(run, part.userids, startedAt, this.deps.backupsDb, group)));
          // The connection is closed, or the server or its channel is down: the other parts would fail the same way.
          if (run.failure && (run.failure.kind === 'timeout' || tripsBreaker(run.failure.kind))) break;
        }
      } finally {
        this.deps.pool.release(session);
      }
    } catch (err) {
      // Could not log in, or ask which users a wildcard would reach: the users not yet sent were not touched.
      const error = err instanceof ImapConnectionError ? err : connectionError(server.name, err);
      this.tripBreaker(server, error.message, false, 'xbackup');
      const done = new Set(results.map((r) => r.userid));
      return { results: [...results, ...failAll(command.userids.filter((u) => !done.has(u)), error.message)], swept };
    }
    const notSent = parts.slice(sent).flatMap((p) => p.userids);
    if (notSent.length > 0) results.push(...failAll(notSent, `${server.name}: not sent, after ${results.find((r) => r.error)?.error ?? 'an earlier part of the command failed'}`));
    return { results, swept };
  }

  /**
   * %SHARED: one XBACKUP per shared mailbox on one connection (a pattern could reach users), taken
   * together as one run. A mailbox deleted since discovery is passed over; any other failure is the run's,
   * and the mailboxes after a timeout or a server failure are not sent.
   */
  private async runShared(session: AdminSession, mailboxes: readonly string[]): Promise<XbackupRun> {
    const runs: XbackupRun[] = [];
    let failure: XbackupRun['failure'] = null;
    for (const mailbox of mailboxes) {
      const run = await this.xbackup(session, mailbox, [SHARED_BACKUP_KEY]);
      runs.push(run);
      if (!run.failure || run.failure.kind === 'no-such-mailbox') continue;
      failure = run.failure;
      if (run.failure.kind === 'timeout' || tripsBreaker(run.failure.kind)) break;
    }
    const first = runs[0]!;
    const last = runs.at(-1)!;
    const pattern = mailboxes.length === 1 ? first.pattern : `${first.pattern} and ${mailboxes.length - 1} more shared mailboxes`;
    return { ...last, pattern, startedAt: first.startedAt, items: runs.flatMap((r) => r.items), unkeptLines: runs.reduce((n, r) => n + r.unkeptLines, 0), failure };
  }

  /** One XBACKUP; lines for users it did not ask for beyond those kept are said in the log. */
  private async xbackup(session: AdminSession, pattern: string, requested: readonly string[]): Promise<XbackupRun> {
    const server = session.server;
    const run = await runXbackup(session, pattern, server.channel, { timeoutMs: server.commandTimeout, requested, now: this.now });
    if (run.unkeptLines > 0) {
      this.deps.logger.warn(
        { server: server.name, pattern, kept: OTHER_LINES_KEPT, notKept: run.unkeptLines },
        `XBACKUP reported more users and mailboxes it was not asked for than are kept: the first ${OTHER_LINES_KEPT.toLocaleString('en-US')} are recorded, the rest only counted`,
      );
    }
    return run;
  }

  /**
   * The command, or, when its wildcard would now also reach users the plan did not know (created since
   * the last discovery), patterns that reach the planned users alone: a first backup never passes the
   * bootstrap throttle inside a refresh.
   */
  private async withoutNewUsers(session: AdminSession, command: PlannedCommand): Promise<PatternBatch[]> {
    if (!/[*%]/.test(command.pattern)) return [{ pattern: command.pattern, userids: command.userids }];
    const planned = new Set(command.userids);
    const present = await listInboxes(session, command.pattern);
    const unknown = [...present].filter((userid) => !planned.has(userid));
    if (unknown.length === 0) return [{ pattern: command.pattern, userids: command.userids }];
    // Info: nothing to do, the new users get their first backups through the bootstrap groups.
    this.deps.logger.info(
      { server: session.server.name, pattern: command.pattern, newUsers: unknown.length, first: unknown.slice(0, 10) },
      'users created since the last discovery would be swept into a wildcard: covering the planned users without them',
    );
    const allowed = new Map(command.userids.map((userid) => [userid, useridToMailbox(userid, session.naming)]));
    return batchPatterns({ naming: session.naming, allUserids: [...new Set([...present, ...command.userids])] }, allowed, 1);
  }

  private record(results: BackupResult[], ids: number[], server: string): void {
    const endedAt = this.now();
    this.deps.attempts.end(
      results.map((r, i) => [ids[i]!, { endedAt, outcome: r.outcome, error: r.error, locked: r.locked, inDoubt: r.inDoubt, chunkAfter: r.chunks?.after?.chunkId ?? null, pattern: r.pattern }] as const),
    );
    this.deps.memory.settle(
      results.map((r, i) => ({
        userid: r.userid,
        attemptId: ids[i]!,
        outcome: r.outcome,
        locked: r.locked,
        inDoubt: r.inDoubt,
        connectionDropped: r.connectionDropped,
        verifiedBackupAt: r.verifiedBackupAt,
        chunks: r.chunks,
      })),
      this.deps.retry,
      endedAt,
      this.deps.random,
    );
    for (const r of results) {
      this.deps.logger[attemptLogLevel(r)]({ userid: r.userid, server, outcome: r.outcome, seconds: r.seconds, error: r.error ?? undefined, inDoubt: r.inDoubt || undefined }, 'backup attempt');
      this.deps.onResult?.(r);
    }
  }

  /**
   * Users the server reported though the command did not ask for them (created between the check of a
   * wildcard and the command): written to the history as they were, never into what we remember of the
   * user, since nothing was read before the command to judge their backup against.
   */
  private recordSwept(swept: readonly BackupResult[], command: PlannedCommand): void {
    if (swept.length === 0) return;
    const ids = this.deps.attempts.start(
      swept.map((r) => ({ userid: r.userid, server: r.server, kind: command.kind, group: r.group, pattern: r.pattern ?? command.pattern, startedAt: r.startedAt, chunkBefore: null })),
    );
    const endedAt = this.now();
    this.deps.attempts.end(swept.map((r, i) => [ids[i]!, { endedAt, outcome: r.outcome, error: r.error, locked: false, inDoubt: false, chunkAfter: r.chunks?.after?.chunkId ?? null, pattern: r.pattern }] as const));
    for (const r of swept) {
      this.deps.logger.warn({ userid: r.userid, server: r.server, outcome: r.outcome, pattern: command.pattern }, 'a user the command did not ask for was backed up');
      this.deps.onResult?.(r);
    }
  }

  private updateBreaker(server: ServerConfig, run: XbackupRun): void {
    // A connection our own shutdown dropped (its grace over) says nothing about the server: its users are
    // in doubt, and the next start must not find it paused.
    if (run.failure?.kind === 'connection-dropped' && this.deps.pool.closed) return;
    if (run.failure && tripsBreaker(run.failure.kind)) {
      this.tripBreaker(server, run.failure.message, run.failure.kind === 'connection-dropped', 'xbackup');
    } else if (run.items.some((i) => i.ok)) {
      this.deps.serverStates.reset(server.name);
    }
  }

  /** Pauses a server whose connection failed: its circuit breaker opens, and it is tried again after a backoff. */
  tripBreaker(server: ServerConfig, error: string, dropped: boolean, trippedBy: 'discovery' | 'xbackup'): void {
    const health = this.deps.serverStates.trip(server.name, error, dropped, trippedBy, this.deps.retry, this.now(), this.deps.random);
    const channelHint =
      health.droppedInARow >= 2
        ? `; the connection dropped ${plural(health.droppedInARow, 'time')} in a row during XBACKUP: channel ${server.channel} is probably not configured on ${server.name} (imapd crashes then)`
        : '';
    this.deps.logger.warn({ server: server.name, pausedUntil: new Date(health.pausedUntil!).toISOString(), error: `${error}${channelHint}` }, 'server paused');
  }
}
