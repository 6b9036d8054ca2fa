// The fleet in-sync-run.ts runs the scheduler against: small users, a folder or two each, so that
// building it takes seconds and every XBACKUP is cheap; what is measured is how many go out.
import type { CyrusTestBed } from '../test/cyrus/testbed.js';

const MESSAGE_BYTES = 1_000;

/** Fixed width, so no userid is a prefix of another and patterns name exactly the users they mean. */
export function fleetUserids(users: number): string[] {
  return Array.from({ length: users }, (_, i) => `s${String(i + 1).padStart(5, '0')}`);
}

/** Every user: 2–4 messages in the INBOX, a Sent folder with one, every other user an Archive folder too. */
export async function buildFleet(bed: CyrusTestBed, userids: readonly string[]): Promise<void> {
  for (const [i, userid] of userids.entries()) {
    await bed.createUser(userid, { folders: i % 2 === 0 ? ['Sent', 'Archive'] : ['Sent'], messages: 2 + (i % 3), messageBytes: MESSAGE_BYTES });
    await bed.appendMessages(userid, 1, MESSAGE_BYTES, { folder: 'Sent' });
  }
}

/** One more message in the INBOX, as new mail would arrive. */
export function deliverOne(bed: CyrusTestBed, userid: string): Promise<void> {
  return bed.appendMessages(userid, 1, MESSAGE_BYTES);
}
