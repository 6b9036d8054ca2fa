import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeBackedUpMailboxes } from '../../src/backupd/backed-up-mailboxes.js';
import { BackupIndexError } from '../../src/backupd/index-error.js';
import { MailboxRows } from '../../src/backupd/mailbox-rows.js';
import { fuzzSettings } from '../support/fuzz-settings.js';

const settings = fuzzSettings();

type Row = [name: string, uidvalidity: number, lastUid: number, highestModseq: number];

/** The rows as the page reader hands them over: each name's bytes on a page, through addPlain, add() when it declines. */
function fromPages(rows: readonly Row[]): MailboxRows {
  const mailboxes = new MailboxRows();
  rows.forEach(([name, uidvalidity, lastUid, highestModseq], i) => {
    const page = Buffer.concat([Buffer.from('before'), Buffer.from(name), Buffer.from('after')]);
    const to = page.length - 'after'.length;
    if (!mailboxes.addPlain(i + 1, page, 'before'.length, to, uidvalidity, lastUid, highestModseq)) mailboxes.add(i + 1, name, uidvalidity, lastUid, highestModseq);
  });
  return mailboxes;
}

/** The rows as SQLite gives them (integers as bigint). */
function fromSqlite(rows: readonly Row[]): MailboxRows {
  const mailboxes = new MailboxRows();
  rows.forEach(([name, uidvalidity, lastUid, highestModseq], i) => mailboxes.add(BigInt(i + 1), name, BigInt(uidvalidity), BigInt(lastUid), BigInt(highestModseq)));
  return mailboxes;
}

/** The text, or the problem. */
function verdict(mailboxes: MailboxRows): string {
  try {
    return mailboxes.encoded('x.index');
  } catch (err) {
    assert.ok(err instanceof BackupIndexError);
    return err.message;
  }
}

const DIGITS = [0, 1, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 10 ** 15 - 1, 10 ** 15, Number.MAX_SAFE_INTEGER];

test('every integer is written as String() writes it, across the boundaries of its digits and of 2^31', () => {
  const rows: Row[] = DIGITS.map((n, i) => [`user.anne.F${i}`, 1 + i, n, n]);
  assert.equal(fromPages(rows).encoded('x.index'), encodeBackedUpMailboxes(rows.map(([name, uidvalidity, lastUid, highestModseq]) => ({ name, uidvalidity, lastUid, highestModseq }))));
});

test('a name copied from the page and the same name decoded are one name', () => {
  const rows: Row[] = [
    ['user.anne', 1, 2, 3],
    ['user.anne.Grüße', 4, 5, 6],
    ['user.anne', 7, 8, 9],
  ];
  assert.match(verdict(fromPages(rows)), /mailbox rows 1 and 3 are both named "user.anne", and neither is deleted/);
});

test(`rows read from the pages and from SQLite give the same text, or the same problem (${settings.describe()})`, () => {
  const name = fc.oneof(
    fc.stringMatching(/^user\.[a-z^]{1,6}(\.[A-Za-z0-9&,+ "\\-]{1,8}){0,2}$/),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.constantFrom('', `user.${'a'.repeat(995)}`, `user.${'a'.repeat(996)}`, `user.${'ü'.repeat(995)}`),
  );
  const integer = fc.oneof(fc.nat(), fc.constantFrom(...DIGITS, -1), fc.integer({ min: -10, max: Number.MAX_SAFE_INTEGER }));
  const row = fc.tuple(name, integer, integer, integer);
  fc.assert(
    fc.property(fc.array(row, { maxLength: 12 }), (rows) => {
      const pages = verdict(fromPages(rows));
      assert.equal(pages, verdict(fromSqlite(rows)));
      if (!pages.startsWith('x.index')) assert.equal(pages, encodeBackedUpMailboxes(rows.map(([n, uidvalidity, lastUid, highestModseq]) => ({ name: n, uidvalidity, lastUid, highestModseq }))));
    }),
    { seed: settings.seed, numRuns: settings.runs(500) },
  );
});
