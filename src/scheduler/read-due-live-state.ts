import type { Logger } from 'pino';
import type { ServerConfig } from '../config/load.js';
import { AdminSession } from '../imap/admin-session.js';
import { listLiveState } from '../imap/list-live-state.js';
import type { LiveState } from '../imap/live-mailboxes.js';

/**
 * The live mailboxes of the users due now, read from their servers side by side, so that a user whose
 * backup already holds everything is confirmed instead of backed up. A server that cannot answer is
 * logged and its users are backed up as they would be without the comparison: a failed check never
 * holds a backup back.
 */
export async function readDueLiveState(
  due: ReadonlyMap<ServerConfig, readonly string[]>,
  logger: Logger,
  now: () => number,
  signal?: AbortSignal,
): Promise<Map<string, LiveState>> {
  const states = new Map<string, LiveState>();
  await Promise.all(
    [...due].map(async ([server, userids]) => {
      let session: AdminSession | undefined;
      try {
        session = await AdminSession.open(server, { logger, signal });
        const read = await listLiveState(session, userids, now);
        const problems: string[] = [];
        for (const [userid, state] of read) {
          if ('problem' in state) problems.push(`${userid}: ${state.problem}`);
          else states.set(userid, state);
        }
        if (problems.length > 0) logger.warn({ server: server.name, users: problems.length, first: problems.slice(0, 5) }, 'mailboxes not fully described: these users are backed up without a comparison');
      } catch (err) {
        if (!signal?.aborted) logger.warn({ server: server.name, err: (err as Error).message, users: userids.length }, 'could not read the live mailboxes of the users due: they are backed up without a comparison');
      } finally {
        await session?.close();
      }
    }),
  );
  return states;
}
