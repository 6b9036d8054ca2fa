import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeBackedUpMailboxes, encodeBackedUpMailboxes, type BackedUpMailbox } from '../../src/backupd/backed-up-mailboxes.js';
import { fuzzSettings } from '../support/fuzz-settings.js';

const settings = fuzzSettings();

test('the encoding is a JSON array of [name, uidvalidity, lastUid, highestModseq], in order', () => {
  const rows: BackedUpMailbox[] = [
    { name: 'user.j&APw-rgen', uidvalidity: 1_700_000_000, lastUid: 12, highestModseq: 40 },
    { name: 'example.com!user.anne^smith.Sent', uidvalidity: 4_294_967_295, lastUid: 0, highestModseq: Number.MAX_SAFE_INTEGER },
  ];
  const text = encodeBackedUpMailboxes(rows);
  assert.equal(text, '[["user.j&APw-rgen",1700000000,12,40],["example.com!user.anne^smith.Sent",4294967295,0,9007199254740991]]');
  assert.deepEqual(decodeBackedUpMailboxes(text), rows);
  assert.equal(encodeBackedUpMailboxes([]), '[]');
  assert.deepEqual(decodeBackedUpMailboxes('[]'), []);
});

test(`any name a mailbox row may have, and any values, round-trip, as JSON.stringify writes them (${settings.describe()})`, () => {
  const name = fc
    .string({ unit: fc.oneof(fc.constantFrom('"', '\\', '[', ']', ',', '\u2028', '\uFFFD', '\uD800', '\uDFFF', '^', '!', '&', '-'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 200 })
    .filter((n) => !/[\u0000-\u001f\u007f]/.test(n));
  const row = fc.record({
    name,
    uidvalidity: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
    lastUid: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    highestModseq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  }, { noNullPrototype: true });
  const rows = fc.uniqueArray(row, { selector: (r) => r.name, maxLength: 30 });
  fc.assert(
    fc.property(rows, (mailboxes) => {
      const text = encodeBackedUpMailboxes(mailboxes);
      assert.equal(text, JSON.stringify(mailboxes.map((m) => [m.name, m.uidvalidity, m.lastUid, m.highestModseq])));
      assert.deepEqual(decodeBackedUpMailboxes(text), mailboxes);
    }),
    { seed: settings.seed, numRuns: settings.runs(300) },
  );
});

test('text that is not such an encoding is an error saying what is wrong, never rows', () => {
  const malformed: Array<[string, RegExp]> = [
    ['', /backed-up mailboxes are not JSON/],
    ['[["user.anne",1,2,3]', /backed-up mailboxes are not JSON/],
    ['{"name":"user.anne"}', /backed-up mailboxes are not a list: \{"name":"user.anne"\}/],
    ['null', /backed-up mailboxes are not a list: NULL/],
    ['[["user.anne",1,2]]', /backed-up mailbox 0 is not \[name, uidvalidity, lastUid, highestModseq\]: \["user.anne",1,2\]/],
    ['[["user.anne",1,2,3],"user.bob"]', /backed-up mailbox 1 is not \[name, uidvalidity, lastUid, highestModseq\]: "user.bob"/],
    ['[["",1,2,3]]', /backed-up mailbox 0's mboxname is not a mailbox name: ""/],
    ['[[7,1,2,3]]', /backed-up mailbox 0's mboxname is not a mailbox name: 7/],
    ['[["user.a\\u0000b",1,2,3]]', /backed-up mailbox 0's mboxname is not a mailbox name: "user.a\\u0000b"/],
    ['[["user.anne",0,2,3]]', /backed-up mailbox 0 \("user.anne"\)'s uidvalidity is not a UIDVALIDITY \(1 to 4294967295\): 0/],
    ['[["user.anne","1",2,3]]', /backed-up mailbox 0 \("user.anne"\)'s uidvalidity is not a UIDVALIDITY \(1 to 4294967295\): "1"/],
    ['[["user.anne",1,-2,3]]', /backed-up mailbox 0 \("user.anne"\)'s last_uid is not a UID: -2/],
    ['[["user.anne",1,2,1.5]]', /backed-up mailbox 0 \("user.anne"\)'s highestmodseq is not a modseq: 1.5/],
    ['[["user.anne",1,2,9007199254740993]]', /backed-up mailbox 0 \("user.anne"\)'s highestmodseq is not a modseq: 9007199254740992/],
    ['[["user.anne",1,2,3],["user.anne",4,5,6]]', /backed-up mailbox 1 has the name of an earlier one: "user.anne"/],
  ];
  for (const [text, message] of malformed) assert.throws(() => decodeBackedUpMailboxes(text), message, text);
});
