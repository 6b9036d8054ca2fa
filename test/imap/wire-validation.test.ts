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

describe('validateUserid', () => {
  test('accepts real userids and returns them unchanged', () => {
    for (const userid of [
      'anne',
      'anne.smith',
      'anne@example.com',
      'anne.smith@mail.example.com',
      'josé',
      '用户@例子.中国',
      "o'brien",
      'a&b',
      'tom+tag',
      'x_y-z',
      'a'.repeat(MAX_USERID_BYTES),
    ]) {
      assert.equal(validateUserid(userid), userid);
    }
  });

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

  const refusals: Array<[userid: string, message: RegExp]> = [
    ['', /^refusing userid "": it is empty; give a userid such as "anne"/],
    ['bob\nx', /line break \(CR or LF\)/],
    ['bob\rx', /line break \(CR or LF\)/],
    ['bob\0x', /^refusing userid "bob\\u0000x": it contains a NUL character/],
    ['bob\tx', /control character U\+0009 \(tab\); only printable characters are allowed/],
    ['bob\x7fx', /^refusing userid "bob\\u007fx": it contains the control character U\+007F \(DEL\)/],
    ['bob\x9bx', /^refusing userid "bob\\u009bx": it contains the control character U\+009B/],
    ['bob\u2028x', /^refusing userid "bob\\u2028x": it contains the Unicode line separator U\+2028/],
    ['bob\ud800x', /^refusing userid "bob\\ud800x": it contains a lone UTF-16 surrogate \(U\+D800\)/],
    ['anne smith', /it contains a space/],
    ['anne"', /it contains '"'; quotes and backslashes are IMAP quoting characters/],
    ['anne\\', /it contains '\\'; quotes and backslashes/],
    ['anne*', /the wildcard '\*'; an exact userid must not, because XBACKUP would back up every user it matches/],
    ['%anne', /the wildcard '%'/],
    ['a^b', /'\^'; Cyrus uses '\^' internally to store a '\.' of a userid/],
    ['a/b', /'\/'; Cyrus refuses '\/' inside a userid/],
    ['a!b', /'!'; Cyrus uses '!' internally to separate a domain/],
    ['a{b', /Cyrus does not allow '\{' in mailbox names/],
    ['a@b@c', /it contains 2 '@'; a userid is local-part or local-part@domain/],
    ['@example.com', /its local part \(before '@'\) is empty/],
    ['anne@', /its domain \(after '@'\) is empty/],
    ['.anne', /its local part starts with '\.'/],
    ['anne.', /its local part ends with '\.'/],
    ['anne..smith', /its local part contains '\.\.'/],
    ['anne@example..com', /its domain contains '\.\.'/],
    ['anne@.example.com', /its domain starts with '\.'/],
    ['anyone', /"anyone" is reserved by Cyrus/],
    ['anonymous@example.com', /"anonymous" is reserved by Cyrus/],
    ['a'.repeat(MAX_USERID_BYTES + 1), /it is 256 bytes long as Cyrus spells it \(modified UTF-7\); the limit is 255/],
    // 100 characters (200 bytes of UTF-8), but each 'é' costs Cyrus 16 bits of base64 in modified UTF-7.
    ['é'.repeat(100), /it is 269 bytes long as Cyrus spells it/],
  ];
  for (const [userid, message] of refusals) {
    test(`refuses ${JSON.stringify(userid).slice(0, 40)}`, () => assertRefused(() => validateUserid(userid), 'userid', userid, message));
  }

  test('a long refused value is cut in the message but kept whole in the error', () => {
    const userid = `${'a'.repeat(1000)} b`;
    assertRefused(() => validateUserid(userid), 'userid', userid, /^refusing userid "a{200}"… \(1002 characters in all\): it contains a space/);
  });
});

describe('validateUseridPattern', () => {
  test('accepts patterns and exact userids', () => {
    for (const pattern of ['*', '%', 'a*', 'a%', '*@example.com', '%@example.com', 'anne', 'anne.s*', 'jos*']) {
      assert.equal(validateUseridPattern(pattern), pattern);
    }
  });

  const refusals: Array<[pattern: string, message: RegExp]> = [
    ['', /^refusing pattern "": it is empty; give a userid or a pattern such as "a\*"/],
    ['a* b', /it contains a space/],
    ['user.a*\r\nINJ LIST "" "*"', /line break/],
    ['@example.com', /local part \(before '@'\) is empty; for every user of a domain write \*@domain/],
    ['*@*@x', /2 '@'/],
    ['a*.', /ends with '\.'/],
    ['a"*', /quotes and backslashes/],
  ];
  for (const [pattern, message] of refusals) {
    test(`refuses ${JSON.stringify(pattern)}`, () => assertRefused(() => validateUseridPattern(pattern), 'pattern', pattern, message));
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
  const controlCharacter = fc.oneof(
    fc.integer({ min: 0, max: 0x1f }),
    fc.constant(0x7f),
    fc.integer({ min: 0x80, max: 0x9f }),
    fc.constantFrom(0x0d, 0x0a, 0x00),
  ).map((code) => String.fromCharCode(code));
  const withControl = fc
    .tuple(fc.string({ unit: 'binary' }), controlCharacter, fc.string({ unit: 'binary' }))
    .map(([before, control, after]) => before + control + after);

  for (const [name, validate, what] of [
    ['validateUserid', validateUserid, 'userid'],
    ['validateUseridPattern', validateUseridPattern, 'pattern'],
    ['validateChannel', validateChannel, 'channel'],
  ] as const) {
    test(`${name} refuses every string with a control character, in a one-line message`, () => {
      fc.assert(
        fc.property(withControl, (value) => {
          assert.throws(
            () => validate(value),
            (error: unknown) => error instanceof WireValueError && error.what === what && !/[\p{Cc}\u2028\u2029]/u.test(error.message),
          );
        }),
      );
    });
  }
});
