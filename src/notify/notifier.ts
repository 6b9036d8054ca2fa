// The notifications of `run`: watches each cycle (CycleHooks), derives its events (cycle-events.ts) and
// hands them to the destinations' queues; pings the ping URL at each cycle's start and end. Nothing here
// waits on a receiver: every hook returns at once.
import type { Logger } from 'pino';
import type { NotifyConfig } from '../config/notify.js';
import type { CycleEnd, CycleHooks } from '../scheduler/scheduler-loop.js';
import type { FleetSnapshot } from '../scheduler/cycle.js';
import type { ServerHealth } from '../scheduler/state/server-state.js';
import { breakerOpen } from '../scheduler/plan/settle-attempt.js';
import { cycleEvents, type CycleFacts, type Watched, type WatchedServer, type WatchedUser } from './cycle-events.js';
import { DeliveryQueue } from './delivery-queue.js';
import { eventBody, eventEnvironment, type EventBody } from './event.js';
import { hookEnvironment, runHookCommand } from './exec-hook.js';
import { postWithDeadline } from './http-post.js';
import { pingUrl, type PingKind } from './ping.js';

/** Pings waiting at most: only the latest matter, and a ping URL that hangs must not pile them up. */
const PING_QUEUE = 10;

export interface NotifierOptions {
  config: NotifyConfig;
  logger: Logger;
  /** The circuit breakers as the state database has them now (ServerStates.all), read at each cycle's start and end. */
  serverHealth: () => ReadonlyMap<string, ServerHealth>;
  /** This backup server's name, in every event (`host`). */
  host: string;
  /** `xbackup-scheduler/<version>`. */
  userAgent: string;
  /** The scheduler's environment; the exec hook gets only a few of its variables (exec-hook.ts). */
  env: NodeJS.ProcessEnv;
  /** For the backoff between tries; a test's fake clock. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

interface PingItem {
  kind: PingKind;
  /** A short text Healthchecks keeps with the ping. */
  text: string;
}

export function watchedServers(health: ReadonlyMap<string, ServerHealth>): Map<string, WatchedServer> {
  return new Map([...health].map(([name, h]) => [name, { paused: breakerOpen(h), pausedUntil: h.pausedUntil, error: h.lastError }]));
}

export function watchedUsers(snapshot: FleetSnapshot): Map<string, WatchedUser> {
  return new Map(snapshot.classification.users.map((u) => [u.userid, { state: u.state, server: u.server, error: u.error }]));
}

export class Notifier implements CycleHooks {
  private readonly webhook: DeliveryQueue<EventBody> | null = null;
  private readonly exec: DeliveryQueue<EventBody> | null = null;
  private readonly ping: DeliveryQueue<PingItem> | null = null;
  /** The users as the last cycle left them; null before the first classification (then that one is the baseline). */
  private lastUsers: Map<string, WatchedUser> | null = null;
  private before: Watched = { users: null, servers: new Map() };
  private latestUsers: Map<string, WatchedUser> | null = null;

  constructor(private readonly options: NotifierOptions) {
    const { config, logger, sleep } = options;
    const describe = (body: EventBody) => `${body.event} ${body.userid ?? body.server ?? body.group ?? ''}`.trim();
    if (config.webhook) {
      const { url, timeout, retries } = config.webhook;
      this.webhook = new DeliveryQueue<EventBody>({
        name: `webhook ${url.source}`,
        capacity: config.queueSize,
        retries,
        describe,
        logger,
        ...(sleep && { sleep }),
        deliver: (body, signal) => postWithDeadline({ url: url.reveal(), body: JSON.stringify(body), contentType: 'application/json', userAgent: options.userAgent, timeoutMs: timeout, signal }),
      });
    }
    if (config.exec) {
      const { command, timeout } = config.exec;
      this.exec = new DeliveryQueue<EventBody>({
        name: `exec ${command[0]}`,
        capacity: config.queueSize,
        // A command may have done part of its work before it failed: it is not run twice.
        retries: 0,
        describe,
        logger,
        deliver: (body, signal) => runHookCommand({ command, env: hookEnvironment(eventEnvironment(body), options.env), timeoutMs: timeout, signal }),
      });
    }
    if (config.ping) {
      const { url, timeout, retries } = config.ping;
      this.ping = new DeliveryQueue<PingItem>({
        name: `ping ${url.source}`,
        capacity: PING_QUEUE,
        retries,
        describe: (p) => p.kind,
        logger,
        ...(sleep && { sleep }),
        deliver: (p, signal) => postWithDeadline({ url: pingUrl(url.reveal(), p.kind), body: p.text, contentType: 'text/plain; charset=utf-8', userAgent: options.userAgent, timeoutMs: timeout, signal }),
      });
    }
  }

  started(why: string, at: number): void {
    this.before = { users: this.lastUsers, servers: this.servers() };
    this.latestUsers = null;
    this.ping?.push({ kind: 'start', text: `cycle started (${why}) at ${new Date(at).toISOString()}` });
  }

  fleet(snapshot: FleetSnapshot): void {
    const users = watchedUsers(snapshot);
    // The first classification since start is the baseline: states the scheduler found raise no event.
    if (this.before.users === null) this.before = { ...this.before, users };
    this.latestUsers = users;
  }

  ended(end: CycleEnd): void {
    const after: Watched = { users: this.latestUsers, servers: this.servers() };
    if (this.latestUsers) this.lastUsers = this.latestUsers;
    const results = end.outcome?.results ?? [];
    const failed = results.filter((r) => r.outcome !== 'ok').length;
    const group = end.outcome?.group ?? null;
    const inGroup = group === null ? [] : results.filter((r) => r.group === group);
    const facts: CycleFacts = {
      result: end.result,
      error: end.error,
      startedAt: end.startedAt,
      attempted: results.length,
      failed,
      group: group === null ? null : { id: group, users: inGroup.length, ok: inGroup.filter((r) => r.outcome === 'ok').length, failed: inGroup.filter((r) => r.outcome !== 'ok').length },
    };
    const wanted = new Set(this.options.config.events);
    for (const event of cycleEvents(this.before, after, facts).filter((e) => wanted.has(e.kind))) {
      const body = eventBody(event, end.endedAt, this.options.host);
      this.options.logger.info({ event: body.event, summary: body.summary }, 'notification');
      this.webhook?.push(body);
      this.exec?.push(body);
    }
    const text = end.result === 'error' ? `cycle could not run: ${end.error}` : `cycle ${end.result}: ${results.length} attempted, ${failed} failed`;
    this.ping?.push({ kind: end.result, text });
  }

  /** Waits up to `graceMs` for what is queued (the last cycle's end ping, say), then gives the rest up. */
  async close(graceMs: number): Promise<void> {
    await Promise.all([this.webhook, this.exec, this.ping].map((q) => q?.close(graceMs)));
  }

  /** The breakers now; a state database that cannot be read leaves no server event rather than a thrown hook. */
  private servers(): Map<string, WatchedServer> {
    try {
      return watchedServers(this.options.serverHealth());
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'notifications: the servers\' circuit breakers could not be read');
      return this.before.servers as Map<string, WatchedServer>;
    }
  }
}
