import type { Logger } from 'pino';
import type { ServerConfig } from '../config/load.js';
import { AdminSession } from '../imap/admin-session.js';

/**
 * Logged-in admin sessions per server, reused between commands (a login costs round trips) and
 * dropped when they break. The executor's worker count, not the pool, bounds how many are in use.
 */
export class SessionPool {
  private readonly idle = new Map<string, AdminSession[]>();

  constructor(private readonly logger?: Logger) {}

  async acquire(server: ServerConfig): Promise<AdminSession> {
    const sessions = this.idle.get(server.name) ?? [];
    for (let s = sessions.pop(); s; s = sessions.pop()) {
      if (s.usable) return s;
      await s.close();
    }
    return AdminSession.open(server, { logger: this.logger });
  }

  release(session: AdminSession): void {
    if (!session.usable) {
      void session.close();
      return;
    }
    const sessions = this.idle.get(session.server.name) ?? [];
    sessions.push(session);
    this.idle.set(session.server.name, sessions);
  }

  async closeAll(): Promise<void> {
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(all.map((s) => s.close()));
  }
}
