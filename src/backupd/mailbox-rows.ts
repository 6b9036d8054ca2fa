import { describeProblem, encodedMailbox, mailboxProblem } from './backed-up-mailboxes.js';
import { BackupIndexError } from './index-error.js';

/**
 * The live rows of an index's mailbox table as either reader meets them, in id order, each validated as
 * it is added, so that the pages and SQLite judge the same rows the same way. The first bad row is kept,
 * not thrown: the page reader may only say so once it has proven that no write overlapped its read, and
 * the summary checks the chunk table first.
 */
export class MailboxRows {
  /** Each good row in encodeBackedUpMailboxes's text, joined into one flat string in the end (the scan keeps that alone). */
  private readonly rows: string[] = [];
  /** Each name's row id, for the error naming both rows of a name. */
  private readonly idOf = new Map<string, number | bigint>();
  /** What is wrong with the first bad row; rows after it are not looked at. */
  private problem: string | null = null;

  /** Row `id` (not deleted), its values as read: a string and integers when they are what Cyrus writes. */
  add(id: number | bigint, name: unknown, uidvalidity: unknown, lastUid: unknown, highestModseq: unknown): void {
    if (this.problem !== null) return;
    const problem = mailboxProblem(name, uidvalidity, lastUid, highestModseq);
    if (problem) {
      this.problem = describeProblem(`mailbox row ${id}`, name, problem);
      return;
    }
    const good = name as string;
    const first = this.idOf.get(good);
    if (first !== undefined) {
      this.problem = `mailbox rows ${first} and ${id} are both named ${JSON.stringify(good)}, and neither is deleted`;
      return;
    }
    this.rows.push(encodedMailbox(good, uidvalidity as number | bigint, lastUid as number | bigint, highestModseq as number | bigint));
    this.idOf.set(good, id);
  }

  /** The rows in the scan's encoding (encodeBackedUpMailboxes); the first bad one makes `indexFile` corrupt. */
  encoded(indexFile: string): string {
    if (this.problem !== null) throw new BackupIndexError(indexFile, 'corrupt', this.problem);
    return `[${this.rows.join(',')}]`;
  }
}
