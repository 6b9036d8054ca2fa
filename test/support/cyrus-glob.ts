// How Cyrus 3.6 decides which users an XBACKUP pattern selects (lib/glob.c), modelled for the tests that
// check the planner's patterns against it; the scheduler itself never guesses, it lists (imap/list-inboxes.ts).
import { userNameFor, useridToMailbox, type MailboxNaming } from '../../src/imap/mailbox-names.js';
import { validateUseridPattern } from '../../src/imap/wire-validation.js';

/**
 * The XBACKUP pattern for a userid pattern: `a*` → `user.a*`, `*@example.com` →
 * `user.*@example.com`, `anne` → `user.anne` (an exact userid never gets a wildcard, which would
 * also back up annette). `*` matches anything, `%` anything but the separator, as in LIST: under
 * the '.' separator `%` therefore misses users whose domain has a dot (useridPatternSelects).
 * A '.' before the pattern's '@', or anywhere in a pattern without '@', is a dot in a userid.
 */
export function useridPatternToMailboxPattern(pattern: string, naming: MailboxNaming): string {
  return userNameFor(validateUseridPattern(pattern), naming);
}

/**
 * Whether `XBACKUP <useridPatternToMailboxPattern(pattern)>` backs up `userid`, decided the way
 * Cyrus 3.6 decides it: the pattern must match the user's whole INBOX name, case-sensitively,
 * `*` matching anything and `%` anything but the separator (lib/glob.c). So, as observed on
 * Cyrus 3.6.1 with virtdomains, `%` under the '.' separator selects `anne` and `bob@localhost`
 * but not `anne@example.com` (the domain's dot stops `%`), while under '/' it selects all three.
 */
export function useridPatternSelects(pattern: string, userid: string, naming: MailboxNaming): boolean {
  const mailboxPattern = useridPatternToMailboxPattern(pattern, naming);
  return mailboxPatternMatches(mailboxPattern, useridToMailbox(userid, naming), naming);
}

/**
 * Whether a mailbox pattern (`user.s*`, `user.anne`, `user/%@example.com`) matches a whole mailbox
 * name as the admin sees it, the way Cyrus 3.6 matches LIST and XBACKUP patterns (lib/glob.c):
 * case-sensitive, `*` matches anything, `%` anything but the hierarchy separator.
 */
export function mailboxPatternMatches(mailboxPattern: string, mailboxName: string, naming: MailboxNaming): boolean {
  const source = (mailboxPattern.match(/[*%]+|[^*%]+/g) ?? [])
    .map((token) => {
      // Cyrus treats a run of wildcards holding any '*' as one '*', and '%%' as '%'.
      if (token.includes('*')) return '[^]*';
      if (token.startsWith('%')) return `[^${escapeForRegExp(naming.separator)}]*`;
      return escapeForRegExp(token);
    })
    .join('');
  return new RegExp(`^${source}$`).test(mailboxName);
}

function escapeForRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
