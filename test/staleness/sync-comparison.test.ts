import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LiveMailbox } from '../../src/imap/live-mailboxes.js';
import type { BackedUpMailbox } from '../../src/backupd/backed-up-mailboxes.js';
import { compareWithBackup } from '../../src/staleness/sync-comparison.js';

const live = (name: string, over: Partial<LiveMailbox> = {}): LiveMailbox => ({ name, uidvalidity: 100, uidnext: 11, messages: 10, highestModseq: 50, sizeBytes: 20_000, ...over });
const held = (name: string, over: Partial<BackedUpMailbox> = {}): BackedUpMailbox => ({ name, uidvalidity: 100, lastUid: 10, highestModseq: 50, ...over });

test('compareWithBackup: each way a live mailbox can differ from its backup, as a table', () => {
  const inbox = 'user.anne';
  const sent = 'user.anne.Sent';
  const cases: Array<[string, LiveMailbox[], BackedUpMailbox[], ReturnType<typeof compareWithBackup>]> = [
    ['every mailbox held with the same modseq: in sync', [live(inbox), live(sent)], [held(inbox), held(sent)], null],
    ['the backup ahead (a newer modseq than the live one): in sync', [live(inbox)], [held(inbox, { highestModseq: 60 })], null],
    ['one message appended to a subfolder: behind by 1 in 1', [live(inbox), live(sent, { uidnext: 12, messages: 11, highestModseq: 51 })], [held(inbox), held(sent)], { mailboxes: 1, messages: 1, bytes: null }],
    ['a new folder with 3 messages: behind by 3, bytes known', [live(inbox), live('user.anne.New', { messages: 3, uidnext: 4, sizeBytes: 6_000 })], [held(inbox)], { mailboxes: 1, messages: 3, bytes: 6_000 }],
    ['a new folder without SIZE: bytes unknown', [live('user.anne.New', { messages: 3, sizeBytes: null })], [], { mailboxes: 1, messages: 3, bytes: null }],
    ['a flag changed: behind by 0 messages, 0 bytes, said rather than hidden', [live(inbox, { highestModseq: 51 })], [held(inbox)], { mailboxes: 1, messages: 0, bytes: 0 }],
    ['messages expunged: behind, 0 messages', [live(inbox, { messages: 8, highestModseq: 53 })], [held(inbox)], { mailboxes: 1, messages: 0, bytes: 0 }],
    ['recreated under another uidvalidity: all its messages', [live(inbox, { uidvalidity: 200, messages: 4, sizeBytes: 800 })], [held(inbox)], { mailboxes: 1, messages: 4, bytes: 800 }],
    ['more UIDs than messages (appended, then some expunged): at most its messages', [live(inbox, { uidnext: 31, messages: 12, highestModseq: 90 })], [held(inbox)], { mailboxes: 1, messages: 12, bytes: null }],
    ['a new UID with a modseq that did not move (a server without modseqs): behind by 1', [live(inbox, { uidnext: 12, messages: 11 })], [held(inbox)], { mailboxes: 1, messages: 1, bytes: null }],
    ['a folder deleted on the server: the backup keeps it, nothing live is behind', [live(inbox)], [held(inbox), held(sent)], null],
    ['rows kept after a delayed delete are ignored', [live(inbox)], [held(inbox), held('DELETED.user.anne.Old.5F3A2B1C')], null],
    ['the sieve mailbox, which the backup holds as scripts, is left out', [live(inbox), live('user.anne.#sieve', { highestModseq: 9 })], [held(inbox)], null],
    ['a partial first backup: the part held is not counted again', [live(inbox, { uidnext: 4001, messages: 4000, highestModseq: 4000 })], [held(inbox, { lastUid: 1024, highestModseq: 1024 })], { mailboxes: 1, messages: 2976, bytes: null }],
    ['nothing backed up yet: the whole mailbox', [live(inbox)], [], { mailboxes: 1, messages: 10, bytes: 20_000 }],
  ];
  for (const [what, liveBoxes, backup, expected] of cases) assert.deepEqual(compareWithBackup(liveBoxes, backup), expected, what);
});
