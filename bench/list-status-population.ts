// The mailboxes list-status-cost.ts asks about: N users with an INBOX and nine folders each, two of them
// nested (so `user.x.*` must reach depth two), and a few small messages, so the STATUS figures are not all zero.
import type { CyrusTestBed } from '../test/cyrus/testbed.js';

export interface Population {
  userids: string[];
  /** Every user's mailboxes as the admin names them, INBOX first. */
  mailboxes: Map<string, string[]>;
  mailboxCount: number;
  messageCount: number;
  buildMs: number;
}

export const MAILBOXES_PER_USER = 10;
const FOLDERS = [['Sent'], ['Drafts'], ['Trash'], ['Junk'], ['Archive'], ['Archive', '2024'], ['Archive', '2025'], ['Lists'], ['Lists', 'cyrus']];
const INBOX_MESSAGES = 3;
const MESSAGE_BYTES = 1_000;
/** Every fourth user also has a message in Sent: some folders differ from others. */
const SENT_EVERY = 4;

/**
 * createUser is fast enough here (about 10 ms per user of ten mailboxes on tmpfs, CREATEs on one admin
 * connection), so nothing is pipelined: 300 users take a few seconds.
 */
export async function buildPopulation(bed: CyrusTestBed, users: number): Promise<Population> {
  const started = performance.now();
  const separator = bed.imap.separator;
  const folders = FOLDERS.map((levels) => levels.join(separator));
  // Fixed width, so no userid is a prefix of another and `user.u00001` patterns stay exact.
  const userids = Array.from({ length: users }, (_, i) => `u${String(i + 1).padStart(5, '0')}`);
  const mailboxes = new Map<string, string[]>();
  let messageCount = 0;
  for (const [i, userid] of userids.entries()) {
    await bed.createUser(userid, { folders, messages: INBOX_MESSAGES, messageBytes: MESSAGE_BYTES });
    messageCount += INBOX_MESSAGES;
    if (i % SENT_EVERY === 0) {
      await bed.appendMessages(userid, 1, MESSAGE_BYTES, { folder: 'Sent' });
      messageCount++;
    }
    mailboxes.set(userid, [bed.mailboxName(userid), ...folders.map((folder) => bed.mailboxName(userid, folder))]);
  }
  await bed.disconnect(); // the bed's own admin connection: measured connections are then the only ones
  return { userids, mailboxes, mailboxCount: users * MAILBOXES_PER_USER, messageCount, buildMs: performance.now() - started };
}
