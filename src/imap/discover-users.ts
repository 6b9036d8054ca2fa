import { matchesAny, type UseridPattern } from '../cyrus-names/userid-pattern.js';
import type { AdminSession } from './admin-session.js';
import type { DiscoveredUser } from './fleet-discovery.js';
import { attributeValue as value, commandText, execCommand, type ExecAttribute, type UntaggedResponse } from './imapflow-exec.js';
import { listFlags, LiveMailboxCollector, missingLiveStateCapabilities, statusItems, statusReturn } from './live-mailboxes.js';
import { mailboxOwner } from './mailbox-names.js';
import { LIVE_STATE_LIMITS, RESPONSE_LIMITS, ResponseBudget } from './response-budget.js';

export interface ServerUsers {
  /** The users matching servers[].users, with sizes when the server can say. */
  users: DiscoveredUser[];
  /** Every user on the server. */
  allUserids: string[];
  /** Its shared mailboxes, named as XBACKUP takes them; empty unless asked for. */
  sharedMailboxes: string[];
  /** Their total size, when the server can say. */
  sharedBytes: number | null;
  /** Why no user of this server can be compared with its backup (time alone judges them), or null. */
  timeOnly: string | null;
  /** Users whose mailboxes the server did not describe fully (`anne: user.anne.Sent: no HIGHESTMODSEQ`), the first few. */
  liveProblems: string[];
}

/** How many users' live-state problems a server's discovery keeps for the report. */
const LIVE_PROBLEMS_KEPT = 5;

/** Cyrus's default `deletedprefix`: mailboxes kept after a delayed delete, never backed up as themselves. */
const DELETED_PREFIX = 'DELETED';

/**
 * Lists the users (INBOXes) of one server with the size of all their folders and every mailbox's state
 * (live-mailboxes.ts), in one LIST command (`LIST "" "user.*" RETURN (STATUS (MESSAGES UIDNEXT UIDVALIDITY
 * HIGHESTMODSEQ SIZE))`) where the server supports it, otherwise with what it supports. bench/list-status-cost.ts
 * measured what the state costs the server on top of SIZE.
 * With `shared`, the pattern is `*`: every mailbox, so shared mailboxes (outside `user.`, in any domain)
 * come in the same command, at the cost of the few shared ones on top of the users' folders.
 * A large server takes minutes to list every mailbox with its size: the LIST may run as long as
 * servers[].commandTimeout while its lines keep coming, servers[].stepTimeout apart at most. It keeps one
 * entry per user and shared mailbox, never a line, and at most RESPONSE_LIMITS of them.
 */
export async function discoverUsers(
  session: AdminSession,
  responsibleFor: readonly UseridPattern[],
  options: { shared?: boolean; compare?: boolean; now?: () => number } = {},
): Promise<ServerUsers> {
  const { separator } = session.naming;
  const withSizes = session.capabilities.has('LIST-STATUS') && session.capabilities.has('STATUS=SIZE');
  const lacking = missingLiveStateCapabilities(session.capabilities);
  const timeOnly =
    options.compare === false
      ? 'the comparison with the live mailboxes is turned off (policy.compareLive: false)'
      : lacking.length > 0
        ? `${session.server.name} does not announce ${lacking.join(' and ')}: its users are judged by the age of their backups alone`
        : null;
  const attributes: ExecAttribute[] = [
    { type: 'STRING', value: '' },
    { type: 'STRING', value: options.shared ? '*' : `user${separator}*` },
    ...statusReturn({ live: timeOnly === null, sizes: withSizes }),
  ];
  const live = timeOnly === null ? new LiveMailboxCollector(session.naming, (options.now ?? Date.now)()) : null;

  const { server } = session;
  const budget = new ResponseBudget(server.name, commandText('LIST', attributes), 'users and shared mailboxes', live ? LIVE_STATE_LIMITS : RESPONSE_LIMITS);
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
        if (owner && live) live.listed(owner, name, listFlags(u));
        if (owner?.isInbox && !inboxes.has(owner.userid)) {
          budget.keep(owner.userid);
          inboxes.add(owner.userid);
        } else if (!owner && options.shared && !shared.has(name) && isSharedMailbox(name, separator, listFlags(u))) {
          budget.keep(name);
          shared.add(name);
        }
      },
      STATUS: (u: UntaggedResponse) => {
        const name = value(u.attributes[0]);
        if (name === undefined) return;
        const owner = mailboxOwner(name, session.naming);
        const items = statusItems(u);
        if (!items) return;
        if (owner && live) budget.keepChars(live.described(owner, name, items));
        const size = Number(items.get('SIZE'));
        if (!items.has('SIZE') || !Number.isFinite(size)) return;
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
  const liveProblems: string[] = [];
  const states = live?.finish();
  const users = allUserids
    .filter((userid) => matchesAny(userid, responsibleFor))
    .map((userid) => {
      const state = states?.get(userid);
      if (state && 'problem' in state && liveProblems.length < LIVE_PROBLEMS_KEPT) liveProblems.push(`${userid}: ${state.problem}`);
      return { userid, server: session.server.name, sizeBytes: withSizes ? (sizes.get(userid) ?? 0) : null, live: state && 'at' in state ? state : null };
    });
  return { users, allUserids, sharedMailboxes: [...shared].sort(), sharedBytes: withSizes ? sharedBytes : null, timeOnly, liveProblems };
}

/** A mailbox of its own outside every user's hierarchy: not a placeholder (\Noselect) and not one kept after a delete. */
function isSharedMailbox(name: string, separator: string, flags: readonly string[]): boolean {
  if (flags.includes('\\noselect') || flags.includes('\\nonexistent')) return false;
  const top = name.split(separator)[0]!.split('@')[0];
  return top !== 'user' && top !== DELETED_PREFIX;
}
