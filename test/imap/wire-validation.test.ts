import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_CHANNEL_LENGTH,
  MAX_USERID_BYTES,
  validateChannel,
  validateUserid,
  validateUseridPattern,
} from '../../src/imap/wire-validation.js';
import { WireValueError } from '../../src/imap/wire-value-error.js';
import { useridToMailbox } from '../../src/imap/mailbox-names.js';
import compiler from 'imapflow/lib/handler/imap-compiler.js';

/** Asserts that `run` throws a WireValueError about `what`/`value` whose message matches `message`. */
function assertRefused(run: () => unknown, what: WireValueError['what'], value: string, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof WireValueError, `expected a WireValueError, got ${String(error)}`);
    assert.equal(error.what, what);
    assert.equal(error.value, value);
    assert.match(error.message, message);
    assert.ok(error.message.startsWith(`refusing ${what} "`), error.message);
    assert.ok(error.message.endsWith(`: ${error.reason}`), error.message);
    return true;
  });
}

/** What imapflow writes for `XBACKUP <name> backup` (what execCommand hands it), without the CRLF. */
function onTheWire(mailbox: string): string {
  return compiler({ tag: 'A1', command: 'XBACKUP', attributes: [{ type: 'STRING', value: mailbox }, { type: 'ATOM', value: 'backup' }] }).toString();
}

// The characters of these rows were observed on Cyrus 3.6.1, with and without virtdomains: an
// admin's CREATE of such an INBOX succeeds under both separators, and XBACKUP of its name as a
// quoted string answers `* OK USER <the userid>` and backs up that user alone.
describe('validateUserid: what Cyrus holds and XBACKUP can name is accepted, and sent as a quoted string', () => {
  const accepted: Array<[userid: string, dot: string, slash: string]> = [
    ['anne', 'user.anne', 'user/anne'],
    ['a b', 'user.a b', 'user/a b'],
    [' ab', 'user. ab', 'user/ ab'],
    ['a  b', 'user.a  b', 'user/a  b'],
    ['anne smith@example.com', 'user.anne smith@example.com', 'user/anne smith@example.com'],
    ["o'brien", "user.o'brien", "user/o'brien"],
    ['a#b', 'user.a#b', 'user/a#b'],
    ['#ab', 'user.#ab', 'user/#ab'],
    ['a$b', 'user.a$b', 'user/a$b'],
    ['$ab', 'user.$ab', 'user/$ab'],
    ['a~b', 'user.a~b', 'user/a~b'],
    ['~ab', 'user.~ab', 'user/~ab'],
    ['tom+tag', 'user.tom+tag', 'user/tom+tag'],
    ['a=b', 'user.a=b', 'user/a=b'],
    ['a(b)', 'user.a(b)', 'user/a(b)'],
    ['a (b', 'user.a (b', 'user/a (b'],
    ['a[b]', 'user.a[b]', 'user/a[b]'],
    ['a?b', 'user.a?b', 'user/a?b'],
    ['a:b', 'user.a:b', 'user/a:b'],
    ['a,b', 'user.a,b', 'user/a,b'],
    ['x_y-z', 'user.x_y-z', 'user/x_y-z'],
    ['a&b', 'user.a&-b', 'user/a&-b'],
    ['josé', 'user.jos&AOk-', 'user/jos&AOk-'],
    ['用户@例子.中国', 'user.&dShiNw-@&T4tbUA-.&Ti1W,Q-', 'user/&dShiNw-@&T4tbUA-.&Ti1W,Q-'],
    // Cyrus keeps a userid's dots as '^', so empty "levels" inside a userid are none.
    ['anne.smith', 'user.anne^smith', 'user/anne.smith'],
    ['.ab', 'user.^ab', 'user/.ab'],
    ['ab.', 'user.ab^', 'user/ab.'],
    ['a..b', 'user.a^^b', 'user/a..b'],
    ['a@b@c', 'user.a@b@c', 'user/a@b@c'],
    ['user', 'user.user', 'user/user'],
    // Non-ASCII controls travel as modified UTF-7, and Cyrus holds them.
    ['a\u0085b', 'user.a&AIU-b', 'user/a&AIU-b'],
    ['a'.repeat(MAX_USERID_BYTES), `user.${'a'.repeat(MAX_USERID_BYTES)}`, `user/${'a'.repeat(MAX_USERID_BYTES)}`],
  ];
  for (const [userid, dot, slash] of accepted) {
    test(`${JSON.stringify(userid).slice(0, 40)} → ${onTheWire(dot).slice(0, 60)}`, () => {
      assert.equal(validateUserid(userid), userid);
      assert.equal(useridToMailbox(userid, { separator: '.' }), dot);
      assert.equal(useridToMailbox(userid, { separator: '/' }), slash);
      assert.equal(onTheWire(dot), `A1 XBACKUP "${dot}" backup`, 'a quoted string, nothing escaped: Cyrus allows no \'"\' or \'\\\' in names');
    });
  }

  test('a line break is refused with a message that shows it escaped', () => {
    assert.throws(
      () => validateUserid('bob\r\nINJ'),
      new WireValueError(
        'userid',
        'bob\r\nINJ',
        'it contains a line break (CR or LF); userids, patterns and channels reach the IMAP wire, where a line break ends the command and runs whatever follows as a new one',
      ),
    );
    assert.throws(
      () => validateUserid('bob\r\nINJ'),
      (error: unknown) =>
        error instanceof Error &&
        error.message.startsWith('refusing userid "bob\\r\\nINJ": it contains a line break (CR or LF)') &&
        !/[\r\n]/.test(error.message),
    );
  });

  const cyrusRefuses = /: it contains '.'; Cyrus does not allow '.' in mailbox names \(nor any of " % ! \/ ; < > \\ ` \{ \| \}\)$/;
  const refusals: Array<[userid: string, reason: RegExp]> = [
    // What the wire cannot carry in a quoted string, nor Cyrus hold.
    ['bob\nx', /line break \(CR or LF\)/],
    ['bob\rx', /line break \(CR or LF\)/],
    ['bob\0x', /: it contains a NUL character, which IMAP cannot carry$/],
    ['bob\ud800x', /: it contains a lone UTF-16 surrogate \(U\+D800\)/],
    // What mboxname_policycheck refuses: `NO Invalid mailbox name` on CREATE.
    ['bob\tx', /: it contains the control character U\+0009 \(tab\); Cyrus does not allow control characters in mailbox names$/],
    ['bob\x1bx', /: it contains the control character U\+001B \(ESC\)/],
    ['bob\x7fx', /: it contains the control character U\+007F \(DEL\)/],
    ['anne"', cyrusRefuses],
    ['anne\\', cyrusRefuses],
    ...[';', '<', '>', '`', '{', '|', '}'].map((c): [string, RegExp] => [`a${c}b`, cyrusRefuses]),
    ['%anne', /: it contains the wildcard '%'; Cyrus does not allow '%' in mailbox names \(give a pattern where one is meant\)$/],
    ['a^b', /'\^'; Cyrus uses '\^' internally to store a '\.' of a userid/],
    ['a/b', /'\/'; Cyrus refuses '\/' inside a userid/],
    ['a!b', /'!'; Cyrus uses '!' internally to separate a domain/],
    ['anyone', /"anyone" is reserved by Cyrus/],
    ['anonymous@example.com', /"anonymous" is reserved by Cyrus/],
    ['@example.com', /its local part \(before '@'\) is empty/],
    ['', /: it is empty; give a userid such as "anne"/],
    // What Cyrus holds, but XBACKUP cannot name alone, or this tool cannot read back.
    ['a*b', /: it contains '\*'; Cyrus allows it in a userid, but XBACKUP reads every '\*' as a wildcard and has no escape for it, so this user cannot be backed up without every other user the name matches/],
    ['ab ', /: it ends with a space; Cyrus holds and backs up such a user, but imapflow trims the end of XBACKUP's `\* OK USER` line/],
    // Kept from before: domains are DNS names, and without virtdomains a domain's dots are levels.
    ['anne@', /its domain \(after '@'\) is empty/],
    ['anne@example..com', /its domain contains '\.\.'/],
    ['anne@.example.com', /its domain starts with '\.'/],
    ['a'.repeat(MAX_USERID_BYTES + 1), /it is 256 bytes long as Cyrus spells it \(modified UTF-7\); the limit is 255/],
    // 100 characters (200 bytes of UTF-8), but each 'é' costs Cyrus 16 bits of base64 in modified UTF-7.
    ['é'.repeat(100), /it is 269 bytes long as Cyrus spells it/],
  ];
  for (const [userid, reason] of refusals) {
    test(`refuses ${JSON.stringify(userid).slice(0, 40)}, saying why`, () =>
      assertRefused(() => validateUserid(userid), 'userid', userid, reason));
  }

  test('a long refused value is cut in the message but kept whole in the error', () => {
    const userid = `${'a'.repeat(1000)}"b`;
    assertRefused(() => validateUserid(userid), 'userid', userid, /^refusing userid "a{200}"… \(1002 characters in all\): it contains '"'/);
  });
});

describe('validateUseridPattern', () => {
  test('accepts patterns and exact userids, spaces and dots included', () => {
    for (const pattern of ['*', '%', 'a*', 'a%', '*@example.com', '%@example.com', 'anne', 'anne.s*', 'jos*', 'a b*', 'a*.', '*@*@x', 'ab ']) {
      assert.equal(validateUseridPattern(pattern), pattern);
    }
  });

  const refusals: Array<[pattern: string, reason: RegExp]> = [
    ['', /: it is empty; give a userid or a pattern such as "a\*"/],
    ['user.a*\r\nINJ LIST "" "*"', /line break/],
    ['@example.com', /local part \(before '@'\) is empty; for every user of a domain write \*@domain/],
    ['a*@x.', /its domain ends with '\.'/],
    ['a"*', /it contains '"'; Cyrus does not allow '"' in mailbox names/],
    ['a*\t', /control character U\+0009 \(tab\)/],
  ];
  for (const [pattern, reason] of refusals) {
    test(`refuses ${JSON.stringify(pattern)}`, () => assertRefused(() => validateUseridPattern(pattern), 'pattern', pattern, reason));
  }
});

describe('validateChannel', () => {
  test('accepts lowercase letters, digits and _', () => {
    for (const channel of ['backup', 'backup2', 'off_site', 'b'.repeat(MAX_CHANNEL_LENGTH)]) assert.equal(validateChannel(channel), channel);
  });

  const refusals: Array<[channel: string, message: RegExp]> = [
    ['', /^refusing channel "": it is empty; XBACKUP needs the channel whose <channel>_sync_host is this backup server \(without one imapd crashes\)/],
    [
      'Backup',
      /^refusing channel "Backup": it contains 'B'; a channel may only contain lowercase letters, digits and '_', because Cyrus lowercases its config keys: .*imapd crashes.*; use "backup"$/,
    ],
    ['back-up', /it contains '-'; a channel may only contain lowercase letters, digits and '_'/],
    ['backup extra', /it contains ' '/],
    ['backup\r\nINJ', /line break \(CR or LF\)/],
    ['backup\0', /NUL/],
    ['bäckup', /it contains 'ä' \(U\+00E4\)/],
    ['b'.repeat(MAX_CHANNEL_LENGTH + 1), /65 characters long; the limit is 64/],
  ];
  for (const [channel, message] of refusals) {
    test(`refuses ${JSON.stringify(channel).slice(0, 40)}`, () => assertRefused(() => validateChannel(channel), 'channel', channel, message));
  }
});

describe('control characters never pass', () => {
  const anyControl = (codes: fc.Arbitrary<number>) =>
    fc
      .tuple(fc.string({ unit: 'binary' }), codes.map((code) => String.fromCharCode(code)), fc.string({ unit: 'binary' }))
      .map(([before, control, after]) => before + control + after);
  // Cyrus refuses the ASCII ones in mailbox names; CR, LF and NUL cannot even be quoted.
  const asciiControl = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.constant(0x7f), fc.constantFrom(0x0d, 0x0a, 0x00));
  const oneLine = (what: WireValueError['what']) => (error: unknown) =>
    error instanceof WireValueError && error.what === what && !/[\p{Cc}\u2028\u2029]/u.test(error.message);

  for (const [name, validate, what] of [
    ['validateUserid', validateUserid, 'userid'],
    ['validateUseridPattern', validateUseridPattern, 'pattern'],
    ['validateChannel', validateChannel, 'channel'],
  ] as const) {
    test(`${name} refuses every string with an ASCII control character, in a one-line message`, () => {
      fc.assert(fc.property(anyControl(asciiControl), (value) => assert.throws(() => validate(value), oneLine(what))));
    });
  }

  test('validateChannel refuses C1 controls too; a userid may hold them (modified UTF-7 carries them, Cyrus holds them)', () => {
    fc.assert(fc.property(anyControl(fc.integer({ min: 0x80, max: 0x9f })), (value) => assert.throws(() => validateChannel(value), oneLine('channel'))));
    assert.equal(validateUserid('a\u009bb'), 'a\u009bb');
  });
});
