import type { Logger } from 'pino';
import type { ServerConfig } from '../config/load.js';
import { compileUseridPattern } from '../config/userid-pattern.js';
import { AdminSession } from './admin-session.js';
import { discoverUsers } from './discover-users.js';
import { SHARED_BACKUP_KEY } from '../backupd/cyrus-userid.js';
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
        const found = await discoverUsers(session, server.users.map(compileUseridPattern), { shared: server.sharedMailboxes });
        const { allUserids, sharedMailboxes } = found;
        // All of a server's shared mailboxes are one backup, %SHARED: to the rest of the tool, one more user.
        const shared = sharedMailboxes.length > 0 ? [{ userid: SHARED_BACKUP_KEY, server: server.name, sizeBytes: found.sharedBytes }] : [];
        return { name: server.name, ok: true, error: null, users: [...found.users, ...shared], allUserids, sharedMailboxes, naming: session.naming };
      } catch (err) {
        logger?.warn({ server: server.name, err: (err as Error).message }, 'discovery failed');
        return { name: server.name, ok: false, error: (err as Error).message, users: [], allUserids: [], sharedMailboxes: [], naming: null };
      } finally {
        await session?.close();
      }
    }),
  );
  return { startedAt, finishedAt: now(), servers: results };
}
