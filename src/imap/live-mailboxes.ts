// Each user's mailboxes as the IMAP server reports them right now (LIST-STATUS), kept compact: a server
// of 100,000 users with 10 folders each answers with a million of them.
import { internalMailboxName, isDeletedMailbox, isSieveMailbox } from '../cyrus-names/internal-mailbox-name.js';
import { attributeValue, type ExecAttribute, type UntaggedResponse } from './imapflow-exec.js';
import type { MailboxNaming, MailboxOwner } from './mailbox-names.js';
import { plural } from '../text/plural.js';

/** A user's live mailbox as LIST-STATUS reports it, under its internal name (internalMailboxName). */
export interface LiveMailbox {
  name: string;
  uidvalidity: number;
  uidnext: number;
  messages: number;
  highestModseq: number;
  /** STATUS SIZE, when the server gives it. */
  sizeBytes: number | null;
}

/** One user's mailboxes read at `at` (ms: when the command that read them was sent), as LiveMailboxCollector encodes them (decodeLive reads them). */
export interface LiveState {
  at: number;
  mailboxes: string;
}

/** What a server must announce for its users to be compared with their backups; otherwise time alone judges them. */
export const LIVE_STATE_CAPABILITIES = ['LIST-STATUS', 'CONDSTORE'] as const;

/** The capabilities of LIVE_STATE_CAPABILITIES a server lacks. */
export function missingLiveStateCapabilities(capabilities: ReadonlySet<string>): string[] {
  return LIVE_STATE_CAPABILITIES.filter((c) => !capabilities.has(c));
}

const COMPARED_ITEMS = ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'HIGHESTMODSEQ'] as const;

/** `RETURN (STATUS (...))` for a LIST: the compared items when `live`, SIZE when `sizes`; nothing when neither. */
export function statusReturn(options: { live: boolean; sizes: boolean }): ExecAttribute[] {
  const items = [...(options.live ? COMPARED_ITEMS : []), ...(options.sizes ? ['SIZE'] : [])];
  if (items.length === 0) return [];
  return [{ type: 'ATOM', value: 'RETURN' }, [{ type: 'ATOM', value: 'STATUS' }, items.map((value) => ({ type: 'ATOM' as const, value }))]];
}

/** The items of a STATUS response as a map, values unparsed; null when it has none. */
export function statusItems(u: UntaggedResponse): Map<string, string> | null {
  const list = u.attributes[1];
  if (!Array.isArray(list)) return null;
  const items = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) {
    const key = attributeValue(list[i]);
    const value = attributeValue(list[i + 1]);
    if (key !== undefined && value !== undefined) items.set(key.toUpperCase(), value);
  }
  return items;
}

/** The flags of a LIST response, lower case. */
export const listFlags = (u: UntaggedResponse): string[] =>
  Array.isArray(u.attributes[0]) ? (u.attributes[0] as unknown[]).flatMap((f) => (attributeValue(f) === undefined ? [] : [attributeValue(f)!.toLowerCase()])) : [];

/** RFC 9051's number: digits only, at most 2^63 − 1; anything a JavaScript number cannot hold exactly is refused too. */
function wireNumber(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,20}$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

const MAX_UIDVALIDITY = 2 ** 32 - 1;

/**
 * One user's mailboxes as their LIST and STATUS lines come in. A user is comparable only when every
 * selectable mailbox LIST named got a STATUS with every item, each a valid number: one missing or odd
 * value would make an unknown mailbox look in sync, so the whole user is judged by time alone instead.
 */
class UserMailboxes {
  /** Selectable mailboxes LIST named. */
  listed = 0;
  /** Of those, how many STATUS described. */
  described = 0;
  /**
   * Each mailbox encoded, joined once the command ends: a string grown by `+=` would stay a rope of every
   * piece, several times the size of the text it holds.
   */
  encoded: string[] = [];
  problem: string | null = null;
}

/** Collects the live state of every user whose mailboxes a LIST-STATUS command names. */
export class LiveMailboxCollector {
  private readonly users = new Map<string, UserMailboxes>();

  constructor(
    private readonly naming: MailboxNaming,
    /** When the command was sent: what it reports is the state at that moment or later. */
    private readonly at: number,
  ) {}

  /** A LIST line of a user's mailbox (owner from mailboxOwner). */
  listed(owner: MailboxOwner, name: string, flags: readonly string[]): void {
    if (flags.includes('\\noselect') || flags.includes('\\nonexistent') || ignored(internalMailboxName(name, this.naming.separator))) return;
    this.user(owner.userid).listed++;
  }

  /** A STATUS line of a user's mailbox; returns the text kept, for the caller's response budget. */
  described(owner: MailboxOwner, name: string, items: ReadonlyMap<string, string>): string {
    const internal = internalMailboxName(name, this.naming.separator);
    if (ignored(internal)) return '';
    const user = this.user(owner.userid);
    if (user.problem !== null) return '';
    const [messages, uidnext, uidvalidity, highestModseq] = COMPARED_ITEMS.map((item) => wireNumber(items.get(item)));
    const size = items.has('SIZE') ? wireNumber(items.get('SIZE')) : null;
    const bad =
      messages === null || uidnext === null || uidnext < 1 || uidvalidity === null || uidvalidity < 1 || uidvalidity > MAX_UIDVALIDITY
        ? 'a STATUS item is missing or not a number'
        : highestModseq === null || highestModseq < 1
          ? 'no HIGHESTMODSEQ (a mailbox without modification sequences cannot be compared)'
          : items.has('SIZE') && size === null
            ? 'SIZE is not a number'
            : null;
    if (bad !== null) {
      user.problem = `${name}: ${bad}`;
      user.encoded = [];
      return '';
    }
    user.described++;
    const text = JSON.stringify([internal, uidvalidity, uidnext, messages, highestModseq, size]);
    user.encoded.push(text);
    return text;
  }

  /**
   * Every user's live state, or why it cannot be compared, once the command has ended; what was collected
   * is let go (a million mailboxes' pieces), so call it once.
   */
  finish(): Map<string, LiveState | { problem: string }> {
    const states = new Map<string, LiveState | { problem: string }>();
    for (const [userid, user] of this.users) {
      if (user.problem !== null) states.set(userid, { problem: user.problem });
      else if (user.described !== user.listed) states.set(userid, { problem: `${plural(user.listed, 'mailbox', 'mailboxes')} listed, ${user.described} with a STATUS` });
      else states.set(userid, { at: this.at, mailboxes: `[${user.encoded.join(',')}]` });
    }
    this.users.clear();
    return states;
  }

  private user(userid: string): UserMailboxes {
    let user = this.users.get(userid);
    if (!user) this.users.set(userid, (user = new UserMailboxes()));
    return user;
  }
}

/** Neither kept after a delayed delete nor the sieve scripts' mailbox: the comparison leaves both out. */
const ignored = (internal: string): boolean => isDeletedMailbox(internal) || isSieveMailbox(internal);

/** The mailboxes of a LiveState. Only ever given what LiveMailboxCollector encoded in this process. */
export function decodeLive(state: LiveState): LiveMailbox[] {
  return (JSON.parse(state.mailboxes) as Array<[string, number, number, number, number, number | null]>).map(
    ([name, uidvalidity, uidnext, messages, highestModseq, sizeBytes]) => ({ name, uidvalidity, uidnext, messages, highestModseq, sizeBytes }),
  );
}
