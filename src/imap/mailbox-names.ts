// Userids (`anne`, `anne.smith@example.com`, `josé`) and the mailbox names an admin sees over
// IMAP, which depend on the server's hierarchy separator (cyrus-facts §5). Verified on Cyrus
// 3.6.1 (virtdomains: userid):
//   '/' separator: user/anne.smith, user/anne.smith/Sent, user/anne.smith@example.com
//   '.' separator: user.anne, user.anne.Sent@example.com (the domain goes after the folders),
//                  and a '.' inside a userid is shown as '^': user.anne^smith is anne.smith
//   non-ASCII in modified UTF-7 on the wire: user.jos&AOk- is josé
// Cyrus spells userids themselves (XBACKUP's `* OK USER` lines, backups.db keys) in modified
// UTF-7 too: `jos&AOk-`; src/cyrus-names/cyrus-userid.ts converts them where they come in.
import { decodeModifiedUtf7, encodeModifiedUtf7, ModifiedUtf7Error } from '../cyrus-names/modified-utf7.js';
import { validateUserid } from './wire-validation.js';
import { WireValueError } from './wire-value-error.js';

/** How a server names mailboxes; the separator is the one it announces (NAMESPACE or `LIST "" ""`). */
export interface MailboxNaming {
  separator: '.' | '/';
}

/** The user whose hierarchy a mailbox belongs to, and whether it is that user's INBOX. */
export interface MailboxOwner {
  userid: string;
  isInbox: boolean;
}

const USER_PREFIX = 'user';
const DOMAIN_MARK = '@';
/** How the '.' separator shows a '.' of a userid (Cyrus's internal spelling of it). */
const DOT_UNDER_DOT_SEPARATOR = '^';

/**
 * The INBOX of `userid` as the admin names it: `user.anne`, `user/anne.smith`,
 * `user.anne^smith`, `user.anne@example.com`, `user.jos&AOk-`. Throws WireValueError for a
 * userid that must not reach the wire (see validateUserid).
 */
export function useridToMailbox(userid: string, naming: MailboxNaming): string {
  return userNameFor(validateUserid(userid), naming);
}

/**
 * The user whose hierarchy a LIST name belongs to, or null for shared mailboxes (`shared.news`,
 * `shared@example.com`), the admin's own (`INBOX`), deleted ones (`DELETED.user...`) and
 * anything else outside `user<sep>`. An `@` marks the domain as Cyrus shows it to an admin
 * with virtdomains. The userid is returned as the name says; one Cyrus allows but XBACKUP cannot
 * name alone (a '*', say) still needs validateUserid before use. Throws WireValueError for a name
 * that is not valid modified UTF-7.
 */
export function mailboxOwner(name: string, naming: MailboxNaming): MailboxOwner | null {
  const { beforeDomain, domain } = splitDomain(decodeMailboxName(name));
  if (domain === '') return null;
  const levels = beforeDomain.split(naming.separator);
  const [prefix, shownLocalPart] = levels;
  if (levels.length < 2 || prefix !== USER_PREFIX || !shownLocalPart) return null;
  const localPart = naming.separator === '.' ? shownLocalPart.replaceAll(DOT_UNDER_DOT_SEPARATOR, '.') : shownLocalPart;
  return { userid: domain === undefined ? localPart : localPart + DOMAIN_MARK + domain, isInbox: levels.length === 2 };
}

/** `user<sep><local part>[@domain]` in modified UTF-7, for a validated userid or pattern. */
export function userNameFor(useridOrPattern: string, naming: MailboxNaming): string {
  const { beforeDomain: localPart, domain } = splitDomain(useridOrPattern);
  const shownLocalPart = naming.separator === '.' ? localPart.replaceAll('.', DOT_UNDER_DOT_SEPARATOR) : localPart;
  const name = USER_PREFIX + naming.separator + shownLocalPart + (domain === undefined ? '' : DOMAIN_MARK + domain);
  return encodeModifiedUtf7(name);
}

/** Splits at the last '@', as Cyrus does; `domain` is undefined when there is none. */
function splitDomain(text: string): { beforeDomain: string; domain: string | undefined } {
  const at = text.lastIndexOf(DOMAIN_MARK);
  return at < 0 ? { beforeDomain: text, domain: undefined } : { beforeDomain: text.slice(0, at), domain: text.slice(at + 1) };
}

function decodeMailboxName(name: string): string {
  try {
    return decodeModifiedUtf7(name);
  } catch (error) {
    if (error instanceof ModifiedUtf7Error) {
      throw new WireValueError('mailbox', name, `IMAP mailbox names are modified UTF-7, and this one is not valid: ${error.problem}`);
    }
    throw error;
  }
}
