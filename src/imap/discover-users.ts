import { matchesAny } from '../config/userid-pattern.js';
import type { AdminSession } from './admin-session.js';
import type { DiscoveredUser } from './fleet-discovery.js';
import { execCommand, type ExecAttribute, type UntaggedResponse } from './imapflow-exec.js';
import { mailboxOwner } from './mailbox-names.js';

const value = (a: unknown): string | undefined =>
  typeof a === 'object' && a !== null && typeof (a as { value?: unknown }).value === 'string' ? (a as { value: string }).value : undefined;

export interface ServerUsers {
  /** The users matching servers[].users, with sizes when the server can say. */
  users: DiscoveredUser[];
  /** Every user on the server. */
  allUserids: string[];
}

/**
 * Lists the users (INBOXes) of one server with the size of all their folders, in one LIST command
 * (`LIST "" "user.*" RETURN (STATUS (SIZE))`) where the server supports it, otherwise without sizes.
 */
export async function discoverUsers(session: AdminSession, responsibleFor: readonly RegExp[]): Promise<ServerUsers> {
  const { separator } = session.naming;
  const withSizes = session.capabilities.has('LIST-STATUS') && session.capabilities.has('STATUS=SIZE');
  const attributes: ExecAttribute[] = [
    { type: 'STRING', value: '' },
    { type: 'STRING', value: `user${separator}*` },
  ];
  if (withSizes) attributes.push({ type: 'ATOM', value: 'RETURN' }, [{ type: 'ATOM', value: 'STATUS' }, [{ type: 'ATOM', value: 'SIZE' }]]);

  const inboxes = new Set<string>();
  const sizes = new Map<string, number>();
  const tagged = await execCommand(session.client, 'LIST', attributes, {
    LIST: (u: UntaggedResponse) => {
      const name = value(u.attributes[2]);
      const owner = name === undefined ? null : mailboxOwner(name, session.naming);
      if (owner?.isInbox) inboxes.add(owner.userid);
    },
    STATUS: (u: UntaggedResponse) => {
      const name = value(u.attributes[0]);
      const owner = name === undefined ? null : mailboxOwner(name, session.naming);
      const items = Array.isArray(u.attributes[1]) ? (u.attributes[1] as unknown[]).map(value) : [];
      const size = Number(items[items.indexOf('SIZE') + 1]);
      if (owner && items.includes('SIZE') && Number.isFinite(size)) sizes.set(owner.userid, (sizes.get(owner.userid) ?? 0) + size);
    },
  });
  if (tagged.status !== 'OK') throw new Error(`${session.server.name}: LIST of users answered ${tagged.status} ${tagged.text}`);
  const allUserids = [...inboxes].sort();
  const users = allUserids
    .filter((userid) => matchesAny(userid, responsibleFor))
    .map((userid) => ({ userid, server: session.server.name, sizeBytes: withSizes ? (sizes.get(userid) ?? 0) : null }));
  return { users, allUserids };
}
