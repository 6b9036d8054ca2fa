import type { Logger } from 'pino';
import type { ServerConfig } from '../config/load.js';
import { compileUseridPattern } from '../cyrus-names/userid-pattern.js';
import { AdminSession } from './admin-session.js';
import { discoverUsers } from './discover-users.js';
import { SHARED_BACKUP_KEY } from '../cyrus-names/cyrus-userid.js';
import { probeXbackup } from './probe-xbackup.js';
import type { FleetDiscovery, ServerDiscovery } from './fleet-discovery.js';

/**
 * Asks every server, side by side, for its users; a server that fails is recorded with why, not thrown.
 * Each step has its deadline (see AdminSession), so a hung server costs the others no more than that.
 * Aborting `signal` drops every connection at once: whoever stops does not wait for an answer.
 */
export async function discoverFleet(
  servers: readonly ServerConfig[],
  logger?: Logger,
  now: () => number = Date.now,
  options: { signal?: AbortSignal | undefined; compare?: boolean } = {},
): Promise<FleetDiscovery> {
  const { signal } = options;
  const startedAt = now();
  const results = await Promise.all(
    servers.map(async (server): Promise<ServerDiscovery> => {
      const askedAt = now();
      let session: AdminSession | undefined;
      try {
        session = await AdminSession.open(server, { logger, signal });
        const probe = await probeXbackup(session);
        // A non-admin sees only the mailboxes its ACLs allow: its list would make users look absent. A probe
        // that cost the connection (no answer in time, a broken one) says why no LIST can follow.
        if (!probe.ok && (probe.kind === 'not-admin' || !session.usable)) throw new Error(probe.message);
        const found = await discoverUsers(session, server.users.map(compileUseridPattern), { shared: server.sharedMailboxes, compare: options.compare, now });
        const { allUserids, sharedMailboxes, timeOnly, liveProblems } = found;
        // All of a server's shared mailboxes are one backup, %SHARED: to the rest of the tool, one more user.
        const shared = sharedMailboxes.length > 0 ? [{ userid: SHARED_BACKUP_KEY, server: server.name, sizeBytes: found.sharedBytes, live: null }] : [];
        const users = [...found.users, ...shared];
        return { name: server.name, ok: true, error: null, users, allUserids, sharedMailboxes, timeOnly, liveProblems, naming: session.naming, askedAt, endedAt: now() };
      } catch (err) {
        const error = signal?.aborted ? `${server.name}: not asked for its users: stopping` : (err as Error).message;
        if (!signal?.aborted) logger?.warn({ server: server.name, err: error }, 'discovery failed');
        return { name: server.name, ok: false, error, users: [], allUserids: [], sharedMailboxes: [], timeOnly: null, liveProblems: [], naming: null, askedAt, endedAt: now() };
      } finally {
        await session?.close();
      }
    }),
  );
  return { startedAt, finishedAt: now(), servers: results };
}
