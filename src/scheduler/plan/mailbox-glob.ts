import type { MailboxNaming } from '../../imap/mailbox-names.js';

/**
 * Whether a mailbox pattern (`user.s*`, `user.anne`, `user/%@example.com`) matches a whole
 * mailbox name as the admin sees it, the way Cyrus 3.6 matches LIST and XBACKUP patterns
 * (lib/glob.c): case-sensitive, `*` matches anything, `%` anything but the hierarchy separator,
 * a run of wildcards holding a `*` acts as one `*`. The planner builds patterns that are safe by
 * construction; this independent check is what its tests hold those patterns to.
 */
export function mailboxPatternMatches(pattern: string, mailboxName: string, naming: MailboxNaming): boolean {
  return globToRegExp(pattern, naming.separator).test(mailboxName);
}

function globToRegExp(pattern: string, separator: string): RegExp {
  const source = (pattern.match(/[*%]+|[^*%]+/g) ?? [])
    .map((token) => {
      if (token.includes('*')) return '[^]*';
      if (token.startsWith('%')) return `[^${escapeForRegExp(separator)}]*`;
      return escapeForRegExp(token);
    })
    .join('');
  return new RegExp(`^${source}$`);
}

function escapeForRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
