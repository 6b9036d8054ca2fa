import type { AdminSession } from './admin-session.js';
import { commandText, execCommand, type ExecAttribute, type UntaggedResponse } from './imapflow-exec.js';
import { listFlags, LiveMailboxCollector, statusItems, statusReturn, valueOf, type LiveState } from './live-mailboxes.js';
import { mailboxOwner, useridToMailbox, type MailboxNaming } from './mailbox-names.js';
import { LIVE_STATE_LIMITS, ResponseBudget } from './response-budget.js';

/** Users asked about in one LIST: two patterns each, and a command line of a few kilobytes. */
const USERS_PER_COMMAND = 100;

/**
 * The two LIST patterns that name exactly one user's mailboxes: its INBOX and everything below it
 * (`user.anne`, `user.anne.*`; with a domain, `user.anne@example.com`, `user.anne.*@example.com`).
 */
export function userMailboxPatterns(userid: string, naming: MailboxNaming): [string, string] {
  const inbox = useridToMailbox(userid, naming);
  const at = inbox.lastIndexOf('@');
  const below = at < 0 ? `${inbox}${naming.separator}*` : `${inbox.slice(0, at)}${naming.separator}*${inbox.slice(at)}`;
  return [inbox, below];
}

/**
 * The live state of `userids` on one server, read now: LIST-EXTENDED's several patterns in one command
 * (`LIST "" ("user.anne" "user.anne.*" ...) RETURN (STATUS (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ SIZE))`),
 * a hundred users at a time, so the cost follows the users asked about, not the server's size
 * (bench/list-status-cost.ts). A user with no line (deleted since discovery) has no entry; one whose
 * mailboxes were not all described has its problem instead. Timed like discovery (servers[].stepTimeout
 * between lines, servers[].commandTimeout in all).
 */
export async function listLiveState(session: AdminSession, userids: readonly string[], now: () => number = Date.now): Promise<Map<string, LiveState | { problem: string }>> {
  const { server, naming } = session;
  const states = new Map<string, LiveState | { problem: string }>();
  const sizes = session.capabilities.has('STATUS=SIZE');
  for (let from = 0; from < userids.length; from += USERS_PER_COMMAND) {
    const asked = userids.slice(from, from + USERS_PER_COMMAND);
    const wanted = new Set(asked);
    const patterns: ExecAttribute[] = asked.flatMap((userid) => userMailboxPatterns(userid, naming).map((value) => ({ type: 'STRING' as const, value })));
    const attributes: ExecAttribute[] = [{ type: 'STRING', value: '' }, patterns, ...statusReturn({ live: true, sizes })];
    const text = commandText('LIST', attributes);
    const shown = text.length > 120 ? `LIST of ${asked.length} users' mailboxes` : text;
    const budget = new ResponseBudget(server.name, shown, 'mailbox states', LIVE_STATE_LIMITS);
    const live = new LiveMailboxCollector(naming, now());
    const ownerOf = (name: string | undefined) => {
      const owner = name === undefined ? null : mailboxOwner(name, naming);
      return owner && wanted.has(owner.userid) ? owner : null;
    };
    const tagged = await execCommand(
      session.client,
      'LIST',
      attributes,
      {
        LIST: (u: UntaggedResponse) => {
          const name = valueOf(u.attributes[2]);
          const owner = ownerOf(name);
          if (owner) live.listed(owner, name!, listFlags(u));
        },
        STATUS: (u: UntaggedResponse) => {
          const name = valueOf(u.attributes[0]);
          const owner = ownerOf(name);
          const items = statusItems(u);
          if (owner && items) budget.keepChars(live.described(owner, name!, items));
        },
      },
      { server: server.name, timeoutMs: server.commandTimeout, timeoutSetting: 'servers[].commandTimeout', silenceMs: server.stepTimeout, budget },
    );
    if (tagged.status !== 'OK') throw new Error(`${server.name}: ${shown} answered ${tagged.status} ${tagged.text}`);
    for (const userid of asked) {
      const state = live.stateOf(userid);
      if (state) states.set(userid, state);
    }
  }
  return states;
}
