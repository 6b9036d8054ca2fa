import { isDeletedMailbox, isSieveMailbox } from '../cyrus-names/internal-mailbox-name.js';
import type { BackedUpMailbox } from '../backupd/backed-up-mailboxes.js';
import type { LiveMailbox } from '../imap/live-mailboxes.js';

/** What a restore from the backup would lack, were the IMAP server lost now. */
export interface Behind {
  /** Live mailboxes the backup lacks, holds under another uidvalidity, or holds older. */
  mailboxes: number;
  /**
   * Messages not in the backup: a whole mailbox's for one the backup lacks (or under another
   * uidvalidity), the UIDs past the backup's last one for a mailbox it holds (at most its messages).
   * 0 with mailboxes behind: only flags, expunges or metadata changed, which the backup lacks too.
   */
  messages: number;
  /** Their size; known only when it is: whole mailboxes with STATUS SIZE, or no new message at all. */
  bytes: number | null;
}

/**
 * In sync when every live mailbox is in the backup with the same uidvalidity, a highestmodseq at least the
 * live one (modseq moves with every change to messages, flags and mailbox metadata) and every UID the live
 * one has given out (so no server whose modseq stood still can hide a new message); behind
 * otherwise, with what is behind. Sieve scripts (`#sieve`) are left out: the backup keeps them as
 * scripts, not as a mailbox. What modseq never shows (subscriptions, sieve edits, another user's \Seen)
 * is in docs/modseq-coverage.md.
 */
export function compareWithBackup(live: readonly LiveMailbox[], backup: readonly BackedUpMailbox[]): Behind | null {
  const held = new Map(backup.filter((b) => !isDeletedMailbox(b.name)).map((b) => [b.name, b]));
  let mailboxes = 0;
  let messages = 0;
  let bytes: number | null = 0;
  for (const mailbox of live) {
    if (isDeletedMailbox(mailbox.name) || isSieveMailbox(mailbox.name)) continue;
    const copy = held.get(mailbox.name);
    if (!copy || copy.uidvalidity !== mailbox.uidvalidity) {
      mailboxes++;
      messages += mailbox.messages;
      bytes = bytes === null || mailbox.sizeBytes === null ? null : bytes + mailbox.sizeBytes;
    } else if (copy.highestModseq < mailbox.highestModseq || copy.lastUid < mailbox.uidnext - 1) {
      mailboxes++;
      const added = Math.min(mailbox.messages, Math.max(0, mailbox.uidnext - 1 - copy.lastUid));
      messages += added;
      // The new messages' sizes are not known, unless there are none.
      if (added > 0) bytes = null;
    }
  }
  return mailboxes === 0 ? null : { mailboxes, messages, bytes };
}
