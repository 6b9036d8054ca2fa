import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mailboxOwner, useridToMailbox, type MailboxNaming } from '../../src/imap/mailbox-names.js';
import { useridPatternSelects, useridPatternToMailboxPattern } from '../support/cyrus-glob.js';
import { encodeModifiedUtf7 } from '../../src/cyrus-names/modified-utf7.js';
import { WireValueError } from '../../src/imap/wire-value-error.js';

const DOT: MailboxNaming = { separator: '.' };
const SLASH: MailboxNaming = { separator: '/' };
const NAMINGS = [DOT, SLASH];

describe('cyrus-facts §5: userid ↔ mailbox name', () => {
  const table: Array<[MailboxNaming, userid: string, mailbox: string]> = [
    [DOT, 'anne', 'user.anne'],
    [SLASH, 'anne.smith', 'user/anne.smith'],
    [DOT, 'anne@example.com', 'user.anne@example.com'],
    [SLASH, 'anne.smith@example.com', 'user/anne.smith@example.com'],
  ];
  for (const [naming, userid, mailbox] of table) {
    test(`${userid} ↔ ${mailbox}`, () => {
      assert.equal(useridToMailbox(userid, naming), mailbox);
      assert.deepEqual(mailboxOwner(mailbox, naming), { userid, isInbox: true });
    });
  }
});

describe('useridToMailbox', () => {
  const table: Array<[MailboxNaming, userid: string, mailbox: string]> = [
    [DOT, 'anne', 'user.anne'],
    [SLASH, 'anne', 'user/anne'],
    [DOT, 'anne@example.com', 'user.anne@example.com'],
    [SLASH, 'anne@example.com', 'user/anne@example.com'],
    [SLASH, 'anne.smith', 'user/anne.smith'],
    // Observed on Cyrus 3.6.1 with unixhierarchysep: no: LIST shows user.anne^smith and
    // XBACKUP of it answers `* OK USER anne.smith`.
    [DOT, 'anne.smith', 'user.anne^smith'],
    [DOT, 'anne.smith@mail.example.com', 'user.anne^smith@mail.example.com'],
    [SLASH, 'anne.smith@mail.example.com', 'user/anne.smith@mail.example.com'],
    [DOT, 'josé', 'user.jos&AOk-'],
    [SLASH, 'josé', 'user/jos&AOk-'],
    [DOT, 'a&b', 'user.a&-b'],
    [DOT, 'zed@例子.中国', 'user.zed@&T4tbUA-.&Ti1W,Q-'],
    [SLASH, '用户@例子.中国', 'user/&dShiNw-@&T4tbUA-.&Ti1W,Q-'],
    // Observed on Cyrus 3.6.1: LIST shows these (quoted), XBACKUP of them answers `* OK USER a b.c`.
    [DOT, 'a b.c', 'user.a b^c'],
    [SLASH, 'a b.c', 'user/a b.c'],
    [SLASH, 'a b@example.com', 'user/a b@example.com'],
  ];
  for (const [naming, userid, mailbox] of table) {
    test(`${userid} with '${naming.separator}' → ${mailbox}`, () => assert.equal(useridToMailbox(userid, naming), mailbox));
  }

  test('refuses userids that cannot reach the wire, saying why', () => {
    const refusals: Array<[MailboxNaming, string, RegExp]> = [
      [DOT, 'anne*', /^refusing userid "anne\*": it contains '\*'; Cyrus allows it in a userid, but XBACKUP reads every '\*' as a wildcard/],
      [SLASH, 'anne ', /^refusing userid "anne ": it ends with a space/],
      [SLASH, 'a/b', /^refusing userid "a\/b": it contains '\/'; Cyrus refuses '\/' inside a userid/],
      [DOT, 'a^b', /^refusing userid "a\^b": it contains '\^'; Cyrus uses '\^' internally to store a '\.'/],
      [SLASH, 'bob\r\nINJ', /^refusing userid "bob\\r\\nINJ": it contains a line break/],
    ];
    for (const [naming, userid, message] of refusals) {
      assert.throws(() => useridToMailbox(userid, naming), (error: unknown) => error instanceof WireValueError && message.test(error.message));
    }
  });
});

describe('mailboxOwner', () => {
  const table: Array<[MailboxNaming, name: string, owner: { userid: string; isInbox: boolean } | null]> = [
    [DOT, 'user.anne', { userid: 'anne', isInbox: true }],
    [DOT, 'user.anne.Sent', { userid: 'anne', isInbox: false }],
    [DOT, 'user.anne.Sent.2024', { userid: 'anne', isInbox: false }],
    [DOT, 'user.anne@example.com', { userid: 'anne@example.com', isInbox: true }],
    [DOT, 'user.anne.Sent@example.com', { userid: 'anne@example.com', isInbox: false }],
    [DOT, 'user.anne^smith', { userid: 'anne.smith', isInbox: true }],
    [DOT, 'user.anne^smith.Sent@example.com', { userid: 'anne.smith@example.com', isInbox: false }],
    [DOT, 'user.jos&AOk-', { userid: 'josé', isInbox: true }],
    [DOT, 'user.jos&AOk-.Envoy&AOk-s', { userid: 'josé', isInbox: false }],
    [DOT, 'user.a&-b', { userid: 'a&b', isInbox: true }],
    [DOT, 'user.zed@&T4tbUA-.&Ti1W,Q-', { userid: 'zed@例子.中国', isInbox: true }],
    [SLASH, 'user/anne.smith', { userid: 'anne.smith', isInbox: true }],
    [SLASH, 'user/anne.smith/Sent', { userid: 'anne.smith', isInbox: false }],
    [SLASH, 'user/anne.smith@example.com', { userid: 'anne.smith@example.com', isInbox: true }],
    [SLASH, 'user/anne.smith/Sent@example.com', { userid: 'anne.smith@example.com', isInbox: false }],
    [SLASH, 'user/anne.smith/Sent.old', { userid: 'anne.smith', isInbox: false }],
    [SLASH, 'user/jos&AOk-', { userid: 'josé', isInbox: true }],
    [DOT, 'shared.news', null],
    [DOT, 'shared', null],
    [DOT, 'shared@example.com', null],
    [SLASH, 'shared/news@example.com', null],
    [DOT, 'INBOX', null],
    [DOT, 'INBOX.Sent', null],
    [SLASH, 'INBOX/Sent', null],
    [DOT, 'DELETED.user.anne.65A1B2C3', null],
    [DOT, 'user', null],
    [DOT, 'user.', null],
    [DOT, 'user.anne@', null],
    [DOT, 'User.anne', null],
    // With '/', `user.anne` is a shared mailbox literally named so (cyrus-facts §1).
    [SLASH, 'user.anne', null],
  ];
  for (const [naming, name, owner] of table) {
    test(`'${naming.separator}' ${name} → ${owner ? `${owner.userid}${owner.isInbox ? ' (INBOX)' : ''}` : 'nobody'}`, () => {
      assert.deepEqual(mailboxOwner(name, naming), owner);
    });
  }

  test('a name that is not modified UTF-7 is refused as a mailbox, saying why', () => {
    assert.throws(
      () => mailboxOwner('user.jos&AOk', DOT),
      (error: unknown) =>
        error instanceof WireValueError &&
        error.what === 'mailbox' &&
        /^refusing mailbox "user\.jos&AOk": IMAP mailbox names are modified UTF-7, and this one is not valid: '&' starts a base64 run that never ends with '-'/.test(
          error.message,
        ),
    );
  });
});

describe('useridPatternToMailboxPattern', () => {
  const table: Array<[MailboxNaming, pattern: string, mailboxPattern: string]> = [
    [DOT, 'a*', 'user.a*'],
    [DOT, '*', 'user.*'],
    [DOT, '%', 'user.%'],
    [DOT, '*@example.com', 'user.*@example.com'],
    [DOT, '%@example.com', 'user.%@example.com'],
    [DOT, 'anne', 'user.anne'],
    [DOT, 'anne@example.com', 'user.anne@example.com'],
    [DOT, 'anne.s*', 'user.anne^s*'],
    [DOT, 'josé*', 'user.jos&AOk-*'],
    [DOT, '*@例子.中国', 'user.*@&T4tbUA-.&Ti1W,Q-'],
    [SLASH, 'a*', 'user/a*'],
    [SLASH, '*', 'user/*'],
    [SLASH, '*@example.com', 'user/*@example.com'],
    [SLASH, 'anne.smith', 'user/anne.smith'],
    [SLASH, 'anne.s*', 'user/anne.s*'],
    [SLASH, 'a%', 'user/a%'],
  ];
  for (const [naming, pattern, mailboxPattern] of table) {
    test(`${pattern} with '${naming.separator}' → ${mailboxPattern}`, () => {
      assert.equal(useridPatternToMailboxPattern(pattern, naming), mailboxPattern);
    });
  }

  test('refuses bad patterns as patterns', () => {
    assert.throws(
      () => useridPatternToMailboxPattern('a*"b', DOT),
      (error: unknown) => error instanceof WireValueError && error.what === 'pattern' && /it contains '"'; Cyrus does not allow/.test(error.message),
    );
  });
});

describe('useridPatternSelects: what Cyrus 3.6.1 backed up for each XBACKUP pattern (virtdomains: userid)', () => {
  const observed: Array<[MailboxNaming, users: string[], pattern: string, selected: string[]]> = [
    [DOT, ['josé', 'anne.smith', 'anne@example.com', 'dave', 'a&b', 'zed@例子.中国', 'bob@nodots'], '%', ['josé', 'anne.smith', 'dave', 'a&b', 'bob@nodots']],
    [DOT, ['josé', 'anne.smith', 'anne@example.com', 'dave', 'a&b', 'zed@例子.中国', 'bob@nodots'], '%@example.com', ['anne@example.com']],
    [DOT, ['josé', 'anne.smith', 'anne@example.com', 'dave', 'a&b', 'zed@例子.中国', 'bob@nodots'], '*', ['josé', 'anne.smith', 'anne@example.com', 'dave', 'a&b', 'zed@例子.中国', 'bob@nodots']],
    [DOT, ['josé', 'anne.smith', 'anne@example.com', 'dave', 'a&b', 'zed@例子.中国', 'bob@nodots'], 'anne.smith', ['anne.smith']],
    [SLASH, ['anne.smith@example.com', 'dave', 'josé', 'bob@nodots'], '%', ['anne.smith@example.com', 'dave', 'josé', 'bob@nodots']],
    [SLASH, ['anne.smith@example.com', 'dave', 'josé', 'bob@nodots'], '%@example.com', ['anne.smith@example.com']],
    [SLASH, ['anne.smith@example.com', 'dave', 'josé', 'bob@nodots'], '*', ['anne.smith@example.com', 'dave', 'josé', 'bob@nodots']],
  ];
  for (const [naming, users, pattern, selected] of observed) {
    test(`'${naming.separator}' XBACKUP ${useridPatternToMailboxPattern(pattern, naming)}`, () => {
      assert.deepEqual(
        users.filter((userid) => useridPatternSelects(pattern, userid, naming)),
        selected,
      );
    });
  }

  test('an exact userid selects only itself; a wildcard is needed to reach annette', () => {
    for (const naming of NAMINGS) {
      assert.equal(useridPatternSelects('anne', 'annette', naming), false);
      assert.equal(useridPatternSelects('anne', 'anne@example.com', naming), false);
      assert.equal(useridPatternSelects('anne*', 'annette', naming), true);
      assert.equal(useridPatternSelects('anne*', 'anne@example.com', naming), true);
      assert.equal(useridPatternSelects('*@example.com', 'anne@example.com', naming), true);
      assert.equal(useridPatternSelects('*@example.com', 'anne@example.org', naming), false);
      assert.equal(useridPatternSelects('Anne', 'anne', naming), false);
    }
  });
});

describe('naming properties', () => {
  const character = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_') },
    { weight: 1, arbitrary: fc.constantFrom('é', 'ü', 'ß', '用', '户', '例', '😀', '&', "'", '+', ' ', '#', '$', '~', '=', '(', ')', '[', ']', '?', ':', ',') },
  );
  const label = fc.string({ unit: character, minLength: 1, maxLength: 6 });
  const dotted = fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.'));
  const userid = fc
    .tuple(dotted, fc.option(dotted, { nil: undefined }))
    .filter(([localPart]) => localPart !== 'anyone' && localPart !== 'anonymous')
    .map(([localPart, domain]) => (domain === undefined ? localPart : `${localPart}@${domain}`))
    .filter((u) => !u.endsWith(' '));
  const naming = fc.constantFrom(DOT, SLASH);

  test('mailboxOwner(useridToMailbox(u)) is u, as an INBOX, under both separators', () => {
    fc.assert(
      fc.property(userid, naming, (u, n) => {
        assert.deepEqual(mailboxOwner(useridToMailbox(u, n), n), { userid: u, isInbox: true });
      }),
    );
  });

  test("a folder below a user's INBOX belongs to that user and is not the INBOX", () => {
    fc.assert(
      fc.property(userid, naming, label, (u, n, folder) => {
        const inbox = useridToMailbox(u, n);
        const at = inbox.lastIndexOf('@');
        const [path, domain] = at < 0 ? [inbox, ''] : [inbox.slice(0, at), inbox.slice(at)];
        const name = `${path}${n.separator}${encodeModifiedUtf7(folder)}${domain}`;
        assert.deepEqual(mailboxOwner(name, n), { userid: u, isInbox: false });
      }),
    );
  });

  test('mailbox names are printable ASCII without quotes or backslashes', () => {
    fc.assert(fc.property(userid, naming, (u, n) => /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/.test(useridToMailbox(u, n))));
  });

  test('an exact userid as a pattern selects exactly that userid', () => {
    fc.assert(
      fc.property(userid, userid, naming, (u, v, n) => {
        assert.equal(useridPatternToMailboxPattern(u, n), useridToMailbox(u, n));
        assert.equal(useridPatternSelects(u, v, n), u === v);
        assert.equal(useridPatternSelects(u, u, n), true);
        assert.equal(useridPatternSelects('*', u, n), true);
      }),
    );
  });
});
