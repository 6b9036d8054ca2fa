import { matchesAny, type UseridPattern } from '../cyrus-names/userid-pattern.js';
import type { AdminSession } from './admin-session.js';
import type { DiscoveredUser } from './fleet-discovery.js';
import { commandText, execCommand, type ExecAttribute, type UntaggedResponse } from './imapflow-exec.js';
import { mailboxOwner } from './mailbox-names.js';
import { ResponseBudget } from './response-budget.js';

const value = (a: unknown): string | undefined =>
  typeof a === 'object' && a !== null && typeof (a as { value?: unknown }).value === 'string' ? (a as { value: string }).value : undefined;

export interface ServerUsers {
  /** The users matching servers[].users, with sizes when the server can say. */
  users: DiscoveredUser[];
  /** Every user on the server. */
  allUserids: string[];
  /** Its shared mailboxes, named as XBACKUP takes them; empty unless asked for. */
  sharedMailboxes: string[];
  /** Their total size, when the server can say. */
  sharedBytes: number | null;
}

/** Cyrus's default `deletedprefix`: mailboxes kept after a delayed delete, never backed up as themselves. */
const DELETED_PREFIX = 'DELETED';

const flagsOf = (u: UntaggedResponse): string[] =>
  Array.isArray(u.attributes[0]) ? (u.attributes[0] as unknown[]).flatMap((f) => (value(f) === undefined ? [] : [value(f)!.toLowerCase()])) : [];

/**
 * Lists the users (INBOXes) of one server with the size of all their folders, in one LIST command
 * (`LIST "" "user.*" RETURN (STATUS (SIZE))`) where the server supports it, otherwise without sizes.
 * With `shared`, the pattern is `*`: every mailbox, so shared mailboxes (outside `user.`, in any domain)
 * come in the same command, at the cost of the few shared ones on top of the users' folders.
 * A large server takes minutes to list every mailbox with its size: the LIST may run as long as
 * servers[].commandTimeout while its lines keep coming, servers[].stepTimeout apart at most. It keeps one
 * entry per user and shared mailbox, never a line, and at most RESPONSE_LIMITS of them.
 */
export async function discoverUsers(session: AdminSession, responsibleFor: readonly UseridPattern[], options: { shared?: boolean } = {}): Promise<ServerUsers> {
  const { separator } = session.naming;
  const withSizes = session.capabilities.has('LIST-STATUS') && session.capabilities.has('STATUS=SIZE');
  const attributes: ExecAttribute[] = [
    { type: 'STRING', value: '' },
    { type: 'STRING', value: options.shared ? '*' : `user${separator}*` },
  ];
  if (withSizes) attributes.push({ type: 'ATOM', value: 'RETURN' }, [{ type: 'ATOM', value: 'STATUS' }, [{ type: 'ATOM', value: 'SIZE' }]]);

  const { server } = session;
  const budget = new ResponseBudget(server.name, commandText('LIST', attributes), 'users and shared mailboxes');
  const inboxes = new Set<string>();
  const shared = new Set<string>();
  const sizes = new Map<string, number>();
  let sharedBytes = 0;
  const tagged = await execCommand(
    session.client,
    'LIST',
    attributes,
    {
      LIST: (u: UntaggedResponse) => {
        const name = value(u.attributes[2]);
        if (name === undefined) return;
        const owner = mailboxOwner(name, session.naming);
        if (owner?.isInbox && !inboxes.has(owner.userid)) {
          budget.keep(owner.userid);
          inboxes.add(owner.userid);
        } else if (!owner && options.shared && !shared.has(name) && isSharedMailbox(name, separator, flagsOf(u))) {
          budget.keep(name);
          shared.add(name);
        }
      },
      STATUS: (u: UntaggedResponse) => {
        const name = value(u.attributes[0]);
        if (name === undefined) return;
        const owner = mailboxOwner(name, session.naming);
        const items = Array.isArray(u.attributes[1]) ? (u.attributes[1] as unknown[]).map(value) : [];
        const size = Number(items[items.indexOf('SIZE') + 1]);
        if (!items.includes('SIZE') || !Number.isFinite(size)) return;
        if (!owner) sharedBytes += size;
        else {
          // A size for a user not (yet) listed is one more entry kept; a listed user's is bounded by the users.
          if (!sizes.has(owner.userid) && !inboxes.has(owner.userid)) budget.keep(owner.userid);
          sizes.set(owner.userid, (sizes.get(owner.userid) ?? 0) + size);
        }
      },
    },
    { server: server.name, timeoutMs: server.commandTimeout, timeoutSetting: 'servers[].commandTimeout', silenceMs: server.stepTimeout, budget },
  );
  if (tagged.status !== 'OK') throw new Error(`${session.server.name}: LIST of users answered ${tagged.status} ${tagged.text}`);
  const allUserids = [...inboxes].sort();
  const users = allUserids
    .filter((userid) => matchesAny(userid, responsibleFor))
    .map((userid) => ({ userid, server: session.server.name, sizeBytes: withSizes ? (sizes.get(userid) ?? 0) : null }));
  return { users, allUserids, sharedMailboxes: [...shared].sort(), sharedBytes: withSizes ? sharedBytes : null };
}

/** A mailbox of its own outside every user's hierarchy: not a placeholder (\Noselect) and not one kept after a delete. */
function isSharedMailbox(name: string, separator: string, flags: readonly string[]): boolean {
  if (flags.includes('\\noselect') || flags.includes('\\nonexistent')) return false;
  const top = name.split(separator)[0]!.split('@')[0];
  return top !== 'user' && top !== DELETED_PREFIX;
}
