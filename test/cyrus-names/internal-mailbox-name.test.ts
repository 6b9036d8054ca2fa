import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internalMailboxName, isDeletedMailbox, isSieveMailbox } from '../../src/cyrus-names/internal-mailbox-name.js';

// Each row as Cyrus 3.6.1 and 3.10.2 showed it: LIST's name for the admin, and backupd's index's mboxname.
const seen: Array<[string, '.' | '/', string]> = [
  ['user.c', '.', 'user.c'],
  ['user.c.Entw&APw-rfe', '.', 'user.c.Entw&APw-rfe'],
  ['user.c.x.y', '.', 'user.c.x.y'],
  ['user.a^b@example.com', '.', 'example.com!user.a^b'],
  ['user.a^b.Sent@example.com', '.', 'example.com!user.a^b.Sent'],
  ['user/c', '/', 'user.c'],
  ['user/c/x.y', '/', 'user.c.x^y'],
  ['user/j&APw-rgen/Entw&APw-rfe', '/', 'user.j&APw-rgen.Entw&APw-rfe'],
  ['user/a.b@example.com', '/', 'example.com!user.a^b'],
  ['user/a.b/x.y@example.com', '/', 'example.com!user.a^b.x^y'],
  ['shared/news', '/', 'shared.news'],
];

test('internalMailboxName: what LIST shows → what the backup index holds, under both separators and virtdomains', () => {
  for (const [external, separator, internal] of seen) assert.equal(internalMailboxName(external, separator), internal, `${external} (${separator})`);
});

test('deleted and sieve mailboxes are recognised behind a domain', () => {
  assert.equal(isDeletedMailbox('DELETED.user.anne.Work.5F3A2B1C'), true);
  assert.equal(isDeletedMailbox('example.com!DELETED.user.anne.5F3A2B1C'), true);
  assert.equal(isDeletedMailbox('user.anne.DELETED'), false);
  assert.equal(isSieveMailbox('user.anne.#sieve'), true);
  assert.equal(isSieveMailbox('example.com!user.anne.#sieve'), true);
  assert.equal(isSieveMailbox('user.anne.sieve'), false);
});
