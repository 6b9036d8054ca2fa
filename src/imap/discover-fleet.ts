import type { Logger } from 'pino';
import type { ServerConfig } from '../config/load.js';
import { compileUseridPattern } from '../config/userid-pattern.js';
import { AdminSession } from './admin-session.js';
import { discoverUsers } from './discover-users.js';
import { probeXbackup } from './probe-xbackup.js';
import type { FleetDiscovery, ServerDiscovery } from './fleet-discovery.js';

/** Asks every server, side by side, for its users; a server that fails is recorded with why, not thrown. */
export async function discoverFleet(servers: readonly ServerConfig[], logger?: Logger, now: () => number = Date.now): Promise<FleetDiscovery> {
  const startedAt = now();
  const results = await Promise.all(
    servers.map(async (server): Promise<ServerDiscovery> => {
      let session: AdminSession | undefined;
      try {
        session = await AdminSession.open(server, { logger });
        // A non-admin sees only the mailboxes its ACLs allow: its list would make users look absent.
        const probe = await probeXbackup(session);
        if (!probe.ok && probe.kind === 'not-admin') throw new Error(probe.message);
        const { users, allUserids } = await discoverUsers(session, server.users.map(compileUseridPattern));
        return { name: server.name, ok: true, error: null, users, allUserids, naming: session.naming };
      } catch (err) {
        logger?.warn({ server: server.name, err: (err as Error).message }, 'discovery failed');
        return { name: server.name, ok: false, error: (err as Error).message, users: [], allUserids: [], naming: null };
      } finally {
        await session?.close();
      }
    }),
  );
  return { startedAt, finishedAt: now(), servers: results };
}
