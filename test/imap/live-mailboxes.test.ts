import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeLive, LiveMailboxCollector, missingLiveStateCapabilities, statusReturn, type LiveMailbox } from '../../src/imap/live-mailboxes.js';
import { mailboxOwner, type MailboxNaming } from '../../src/imap/mailbox-names.js';

const AT = Date.parse('2026-12-07T12:00:00Z');
const DOT: MailboxNaming = { separator: '.' };
const SLASH: MailboxNaming = { separator: '/' };

const ITEMS = { MESSAGES: '10', UIDNEXT: '11', UIDVALIDITY: '1700000000', HIGHESTMODSEQ: '50', SIZE: '20000' };

type Line = ['list', string, string[]] | ['status', string, Record<string, string>];

/** The collector fed `lines` as a LIST-STATUS answer would come, then asked about `userid`. */
function collect(naming: MailboxNaming, lines: Line[], userid: string) {
  const collector = new LiveMailboxCollector(naming, AT);
  for (const [kind, name, extra] of lines) {
    const owner = mailboxOwner(name, naming)!;
    if (kind === 'list') collector.listed(owner, name, extra);
    else collector.described(owner, name, new Map(Object.entries(extra)));
  }
  return collector.finish().get(userid);
}

const mailbox = (over: Partial<LiveMailbox> = {}): LiveMailbox => ({
  name: 'user.anne',
  uidvalidity: 1700000000,
  uidnext: 11,
  messages: 10,
  highestModseq: 50,
  sizeBytes: 20000,
  ...over,
});

describe('LiveMailboxCollector: a user is comparable only when every mailbox it has was described', () => {
  const cases: Array<[string, MailboxNaming, Line[], LiveMailbox[] | RegExp]> = [
    ['INBOX and a folder, each with a STATUS', DOT, [['list', 'user.anne', []], ['status', 'user.anne', ITEMS], ['list', 'user.anne.Sent', []], ['status', 'user.anne.Sent', { ...ITEMS, MESSAGES: '3' }]], [mailbox(), mailbox({ name: 'user.anne.Sent', messages: 3 })]],
    ['names kept as Cyrus keeps them inside: / separator, a dot in the userid, a domain', SLASH, [['list', 'user/anne.smith@example.com', []], ['status', 'user/anne.smith@example.com', ITEMS], ['list', 'user/anne.smith/Sent@example.com', []], ['status', 'user/anne.smith/Sent@example.com', ITEMS]], [mailbox({ name: 'example.com!user.anne^smith' }), mailbox({ name: 'example.com!user.anne^smith.Sent' })]],
    ['without SIZE: the size is unknown, the rest compared', DOT, [['list', 'user.anne', []], ['status', 'user.anne', { MESSAGES: '10', UIDNEXT: '11', UIDVALIDITY: '1700000000', HIGHESTMODSEQ: '50' }]], [mailbox({ sizeBytes: null })]],
    ['a \\Noselect placeholder has no STATUS and needs none', DOT, [['list', 'user.anne', []], ['status', 'user.anne', ITEMS], ['list', 'user.anne.Archive', ['\\noselect']]], [mailbox()]],
    ['the sieve mailbox is left out (the backup keeps scripts, not a mailbox)', DOT, [['list', 'user.anne', []], ['status', 'user.anne', ITEMS], ['list', 'user.anne.#sieve', []], ['status', 'user.anne.#sieve', ITEMS]], [mailbox()]],
    ['a mailbox listed without its STATUS: not comparable', DOT, [['list', 'user.anne', []], ['status', 'user.anne', ITEMS], ['list', 'user.anne.Sent', []]], /2 mailboxes listed, 1 with a STATUS/],
    ['HIGHESTMODSEQ missing', DOT, [['list', 'user.anne', []], ['status', 'user.anne', { ...ITEMS, HIGHESTMODSEQ: '' }]], /user\.anne: no HIGHESTMODSEQ/],
    ['HIGHESTMODSEQ 0 (a mailbox without modseqs)', DOT, [['list', 'user.anne', []], ['status', 'user.anne', { ...ITEMS, HIGHESTMODSEQ: '0' }]], /no HIGHESTMODSEQ/],
    ['a number that is not one', DOT, [['list', 'user.anne', []], ['status', 'user.anne', { ...ITEMS, MESSAGES: '1e3' }]], /not a number/],
    ['a number beyond what a double holds exactly', DOT, [['list', 'user.anne', []], ['status', 'user.anne', { ...ITEMS, UIDNEXT: '18446744073709551615' }]], /not a number/],
    ['UIDVALIDITY beyond 32 bits', DOT, [['list', 'user.anne', []], ['status', 'user.anne', { ...ITEMS, UIDVALIDITY: '4294967296' }]], /not a number/],
    ['UIDVALIDITY 0', DOT, [['list', 'user.anne', []], ['status', 'user.anne', { ...ITEMS, UIDVALIDITY: '0' }]], /not a number/],
    ['SIZE that is not a number', DOT, [['list', 'user.anne', []], ['status', 'user.anne', { ...ITEMS, SIZE: '-1' }]], /SIZE is not a number/],
    ['one bad mailbox makes the whole user not comparable, whatever comes after', DOT, [['list', 'user.anne', []], ['status', 'user.anne', { ...ITEMS, UIDNEXT: 'x' }], ['list', 'user.anne.Sent', []], ['status', 'user.anne.Sent', ITEMS]], /user\.anne: a STATUS item/],
  ];
  for (const [what, naming, lines, expected] of cases) {
    test(what, () => {
      const userid = mailboxOwner(lines[0]![1], naming)!.userid;
      const state = collect(naming, lines, userid);
      assert.ok(state);
      if (expected instanceof RegExp) {
        assert.ok('problem' in state, `not comparable: ${JSON.stringify(state)}`);
        assert.match(state.problem, expected);
      } else {
        assert.ok('at' in state, JSON.stringify(state));
        assert.equal(state.at, AT);
        assert.deepEqual(decodeLive(state), expected);
      }
    });
  }

  test('a user no line named is not known at all', () => {
    assert.equal(collect(DOT, [['list', 'user.anne', []], ['status', 'user.anne', ITEMS]], 'bob'), undefined);
  });

  test('names with quotes, backslashes and non-ASCII survive the encoding', () => {
    const name = 'user.j&APw-rgen."quoted"\\x';
    const state = collect(DOT, [['list', name, []], ['status', name, ITEMS]], 'j\u00fcrgen');
    assert.ok(state && 'at' in state);
    assert.equal(decodeLive(state)[0]!.name, name);
  });
});

test('missingLiveStateCapabilities: LIST-STATUS and CONDSTORE are both needed', () => {
  assert.deepEqual(missingLiveStateCapabilities(new Set(['LIST-STATUS', 'CONDSTORE', 'STATUS=SIZE'])), []);
  assert.deepEqual(missingLiveStateCapabilities(new Set(['LIST-STATUS'])), ['CONDSTORE']);
  assert.deepEqual(missingLiveStateCapabilities(new Set()), ['LIST-STATUS', 'CONDSTORE']);
});

test('statusReturn: the items asked for, or no RETURN at all', () => {
  const items = (r: ReturnType<typeof statusReturn>) => JSON.stringify(r);
  assert.equal(items(statusReturn({ live: false, sizes: false })), '[]');
  assert.match(items(statusReturn({ live: false, sizes: true })), /"SIZE"/);
  assert.doesNotMatch(items(statusReturn({ live: false, sizes: true })), /HIGHESTMODSEQ/);
  for (const item of ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'HIGHESTMODSEQ', 'SIZE']) assert.match(items(statusReturn({ live: true, sizes: true })), new RegExp(`"${item}"`));
});
