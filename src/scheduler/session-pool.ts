import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/load.js';
import { AdminSession } from '../imap/admin-session.js';

/**
 * Logged-in admin sessions per server, reused between commands (a login costs round trips) and
 * dropped when they break. The executor's worker count, not the pool, bounds how many are in use.
 */
export class SessionPool {
  private readonly idle = new Map<string, AdminSession[]>();
  private readonly inUse = new Set<AdminSession>();
  /** Aborted by closeAll(): a login still under way is dropped too. */
  private readonly closing = new AbortController();

  constructor(private readonly logger?: Logger) {
    // One listener per open session, however many servers and slots there are: not a leak.
    setMaxListeners(0, this.closing.signal);
  }

  /** Whether closeAll() has run: a command that broke since was cut by the shutdown, not by its server. */
  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  async acquire(server: ServerConfig): Promise<AdminSession> {
    const sessions = this.idle.get(server.name) ?? [];
    for (let s = sessions.pop(); s; s = sessions.pop()) {
      if (s.usable) {
        this.inUse.add(s);
        return s;
      }
      await s.close();
    }
    const fresh = await AdminSession.open(server, { logger: this.logger, signal: this.closing.signal });
    this.inUse.add(fresh);
    return fresh;
  }

  release(session: AdminSession): void {
    this.inUse.delete(session);
    if (!session.usable) {
      void session.close();
      return;
    }
    const sessions = this.idle.get(session.server.name) ?? [];
    sessions.push(session);
    this.idle.set(session.server.name, sessions);
  }

  /**
   * Closes every session, those still running a command or logging in too: the scheduler only gets here
   * once its shutdown grace is over, and a session left open would keep the process from exiting.
   */
  async closeAll(): Promise<void> {
    this.closing.abort();
    const idle = [...this.idle.values()].flat();
    for (const busy of this.inUse) busy.abort();
    this.idle.clear();
    this.inUse.clear();
    await Promise.all(idle.map((s) => s.close()));
  }
}
