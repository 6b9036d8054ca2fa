/**
 * The name Cyrus keeps for a mailbox internally, which backupd's index holds in `mailbox.mboxname`, from
 * the name an admin's LIST shows. Seen on Cyrus 3.6.1 and 3.10.2: levels joined by '.', a dot inside a
 * level written '^', a domain other than the default one as a `domain!` prefix, modified UTF-7 kept as
 * it is. So `user/anne.smith/Sent@example.com` ('/' separator) and `user.anne^smith.Sent@example.com`
 * ('.') are both `example.com!user.anne^smith.Sent`.
 */
export function internalMailboxName(external: string, separator: '.' | '/'): string {
  const at = external.lastIndexOf('@');
  const path = at < 0 ? external : external.slice(0, at);
  const domain = at < 0 ? undefined : external.slice(at + 1);
  // Under '.' a dot inside a level is already shown as '^'.
  const levels = separator === '.' ? path.split('.') : path.split('/').map((level) => level.replaceAll('.', '^'));
  return `${domain === undefined ? '' : `${domain}!`}${levels.join('.')}`;
}

/** A mailbox kept after a delayed delete (`DELETED.user.anne.Work.5F3A…`, behind any domain prefix): never live again. */
export function isDeletedMailbox(internal: string): boolean {
  const bang = internal.indexOf('!');
  return internal.slice(bang + 1).startsWith('DELETED.');
}

/**
 * `user.anne.#sieve`: where Cyrus keeps a user's sieve scripts since 3.x. LIST shows it, but XBACKUP sends
 * its scripts as scripts and the backup has no mailbox row for it (docs/modseq-coverage.md).
 */
export function isSieveMailbox(internal: string): boolean {
  return internal.endsWith('.#sieve');
}
