import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeModifiedUtf7 } from '../../../src/cyrus-names/modified-utf7.js';
import { useridToMailbox, type MailboxNaming } from '../../../src/imap/mailbox-names.js';
import { batchPatterns, inboxNameOfAnyUser, type PatternBatch } from '../../../src/scheduler/plan/batch-patterns.js';
import { mailboxPatternMatches } from '../../support/cyrus-glob.js';
import { validateUserid } from '../../../src/imap/wire-validation.js';
import { DOT, SLASH } from './plan-fixtures.js';

/** batchPatterns with the allowed users' INBOX names looked up as the planner does. */
function batch(naming: MailboxNaming, allUserids: readonly string[], allowed: Iterable<string>, slots: number): PatternBatch[] {
  return batchPatterns({ naming, allUserids }, new Map([...allowed].map((userid) => [userid, useridToMailbox(userid, naming)])), slots);
}

/** Which of the server's users each pattern matches, the way Cyrus matches it. */
function matched(batches: PatternBatch[], allUserids: readonly string[], naming: MailboxNaming): string[][] {
  return batches.map(({ pattern }) => allUserids.filter((userid) => mailboxPatternMatches(pattern, inboxNameOfAnyUser(userid, naming)!, naming)));
}

function assertExactCover(batches: PatternBatch[], allUserids: readonly string[], allowed: ReadonlySet<string>, naming: MailboxNaming): void {
  assert.deepEqual(
    matched(batches, allUserids, naming).map((users) => users.sort()),
    batches.map((b) => [...b.userids].sort()),
    'each pattern matches exactly the users it lists',
  );
  assert.deepEqual(batches.flatMap((b) => b.userids).sort(), [...allowed].sort(), 'every allowed user once');
}

describe('batchPatterns', () => {
  test('300 due users with one missing user among them: the patterns go around it', () => {
    const due = Array.from({ length: 300 }, (_, i) => `s${String(i + 1).padStart(3, '0')}`);
    const allUserids = [...due, 's150x'];
    const allowed = new Set(due);
    const batches = batch(DOT, allUserids, allowed, 1);
    assertExactCover(batches, allUserids, allowed, DOT);
    assert.deepEqual(
      batches.map((b) => b.pattern),
      [
        'user.s0*',
        'user.s10*',
        'user.s11*',
        'user.s12*',
        'user.s13*',
        'user.s14*',
        'user.s150',
        'user.s151',
        'user.s152',
        'user.s153',
        'user.s154',
        'user.s155',
        'user.s156',
        'user.s157',
        'user.s158',
        'user.s159',
        'user.s16*',
        'user.s17*',
        'user.s18*',
        'user.s19*',
        'user.s2*',
        'user.s300',
      ],
    );
  });

  test('every user of the server due: one user<sep>* pattern, under either separator', () => {
    for (const naming of [DOT, SLASH]) {
      const allUserids = ['anne', 'bob', 'carol.king'];
      const batches = batch(naming, allUserids, new Set(allUserids), 1);
      assert.deepEqual(batches, [{ pattern: `user${naming.separator}*`, userids: ['anne', 'bob', 'carol.king'] }]);
    }
  });

  test('never a wildcard after a due userid: anne and annette due, ann not', () => {
    const allUserids = ['ann', 'anne', 'annette'];
    const batches = batch(DOT, allUserids, new Set(['anne', 'annette']), 1);
    assert.deepEqual(batches, [{ pattern: 'user.anne*', userids: ['anne', 'annette'] }]);
    const onlyAnne = batch(DOT, allUserids, new Set(['anne']), 1);
    assert.deepEqual(onlyAnne, [{ pattern: 'user.anne', userids: ['anne'] }]);
  });

  test("dotted userids: '.' shows as '^' under the '.' separator, as itself under '/'", () => {
    const allUserids = ['anne', 'anne.jones', 'anne.smith'];
    const allowed = new Set(['anne.jones', 'anne.smith']);
    const dot = batch(DOT, allUserids, allowed, 1);
    const slash = batch(SLASH, allUserids, allowed, 1);
    assert.deepEqual(dot.map((b) => b.pattern), ['user.anne^*']);
    assert.deepEqual(slash.map((b) => b.pattern), ['user/anne.*']);
    assertExactCover(dot, allUserids, allowed, DOT);
    assertExactCover(slash, allUserids, allowed, SLASH);
  });

  test('virtual domains: a pattern that matches one domain only, under either separator', () => {
    const allUserids = ['x1@example.com', 'x2@example.com', 'x3@example.com', 'x3@example.org', 'y@example.com'];
    const allowed = new Set(['x1@example.com', 'x2@example.com', 'x3@example.com']);
    for (const naming of [DOT, SLASH]) {
      const batches = batch(naming, allUserids, allowed, 1);
      const sep = naming.separator;
      assert.deepEqual(
        batches.map((b) => b.pattern),
        [`user${sep}x1@example.com`, `user${sep}x2@example.com`, `user${sep}x3@example.com`],
      );
      assertExactCover(batches, allUserids, allowed, naming);
      const withoutOrg = allUserids.filter((u) => u !== 'x3@example.org');
      assert.deepEqual(batch(naming, withoutOrg, allowed, 1), [
        { pattern: `user${sep}x*`, userids: ['x1@example.com', 'x2@example.com', 'x3@example.com'] },
      ]);
    }
  });

  test('non-ASCII userids: a pattern never ends inside a modified UTF-7 run', () => {
    // josè and josé are user.jos&AOg- and user.jos&AOk-: sharing "user.jos&AO" is not a prefix to cut at.
    const allUserids = ['jos', 'josè', 'josé', 'josé1', 'josé2'];
    const allowed = new Set(['josè', 'josé', 'josé1', 'josé2']);
    const batches = batch(DOT, allUserids, allowed, 1);
    assert.deepEqual(batches, [
      { pattern: 'user.jos&AOg-', userids: ['josè'] },
      { pattern: 'user.jos&AOk-*', userids: ['josé', 'josé1', 'josé2'] },
    ]);
    assertExactCover(batches, allUserids, allowed, DOT);
  });

  test("a user whose userid XBACKUP cannot name alone is still never swept in", () => {
    for (const naming of [DOT, SLASH]) {
      const allUserids = ['s1', 's2', 's*3', 's4 '];
      const batches = batch(naming, allUserids, new Set(['s1', 's2']), 1);
      assert.deepEqual(batches.map((b) => b.pattern), [`user${naming.separator}s1`, `user${naming.separator}s2`]);
      assertExactCover(batches, allUserids, new Set(['s1', 's2']), naming);
    }
  });

  test('userids with spaces, parentheses and other characters Cyrus allows are batched, and only with each other', () => {
    const allUserids = ['a b', 'a b2', 'a  b', 'a (b)', 'a (c)', 'a#b', 'a*b', 'ab ', 'ab', '.a', 'a.', 'a..b'];
    for (const naming of [DOT, SLASH]) {
      for (const allowed of [
        new Set(['a b', 'a b2', 'a  b', 'a (b)', 'a (c)', 'a#b', 'ab', '.a', 'a.', 'a..b']),
        new Set(['a b', 'a b2', 'a (b)', 'a (c)']),
        new Set(['a  b', 'ab', 'a..b']),
      ]) {
        assertExactCover(batch(naming, allUserids, allowed, 1), allUserids, allowed, naming);
        assertExactCover(batch(naming, allUserids, allowed, 3), allUserids, allowed, naming);
      }
    }
    assert.deepEqual(
      batch(DOT, allUserids, new Set(['a b', 'a b2', 'a (b)', 'a (c)']), 1).map((b) => b.pattern),
      ['user.a (*', 'user.a b*'],
    );
  });

  test('due users the discovered list lacks get their exact names, and no wildcard reaches them', () => {
    assert.deepEqual(batch(DOT, [], new Set(['s1', 's2']), 1), [
      { pattern: 'user.s1', userids: ['s1'] },
      { pattern: 'user.s2', userids: ['s2'] },
    ]);
    assert.deepEqual(
      batch(DOT, ['a1', 'a2', 's1', 's2'], new Set(['a1', 'a2', 's1', 's2', 's3']), 1).map((b) => b.pattern),
      ['user.a*', 'user.s1', 'user.s2', 'user.s3'],
    );
  });

  test('one connection: the fewest commands; several: big patterns are split so every connection works', () => {
    const allUserids = Array.from({ length: 1000 }, (_, i) => `s${String(i).padStart(3, '0')}`);
    const allowed = new Set(allUserids);
    assert.deepEqual(batch(DOT, allUserids, allowed, 1).map((b) => b.pattern), ['user.s*']);
    const spread = batch(DOT, allUserids, allowed, 4);
    assert.deepEqual(spread.map((b) => b.pattern), ['user.s0*', 'user.s1*', 'user.s2*', 'user.s3*', 'user.s4*', 'user.s5*', 'user.s6*', 'user.s7*', 'user.s8*', 'user.s9*']);
    assertExactCover(spread, allUserids, allowed, DOT);
  });

  test('a split that would cost more logins than it saves is not made', () => {
    const allUserids = ['s1', 's2', 's3'];
    assert.deepEqual(batch(DOT, allUserids, new Set(allUserids), 8).map((b) => b.pattern), ['user.s*']);
  });

  test('patterns are valid modified UTF-7 before the wildcard', () => {
    const allUserids = ['é1', 'é2', 'è', 'ü&1', 'ü&2'];
    const batches = batch(DOT, allUserids, new Set(['é1', 'é2', 'ü&1', 'ü&2']), 1);
    for (const { pattern } of batches) assert.doesNotThrow(() => decodeModifiedUtf7(pattern.replace(/\*$/, '')), pattern);
    assertExactCover(batches, allUserids, new Set(['é1', 'é2', 'ü&1', 'ü&2']), DOT);
  });
});

describe('inboxNameOfAnyUser: the INBOX names of users no pattern may touch', () => {
  test('spells every valid userid as useridToMailbox does, under either separator', () => {
    const userid = fc
      .tuple(
        fc.string({ unit: fc.constantFrom('a', 'z', '.', '&', '-', '_', 'é', '\u{1F600}', ' ', '(', '#'), minLength: 1 }),
        fc.option(fc.constantFrom('example.com', 'ex.org')),
      )
      .map(([local, domain]) => (domain === null ? local : `${local}@${domain}`))
      .filter((id) => {
        try {
          return validateUserid(id) === id;
        } catch {
          return false;
        }
      });
    fc.assert(
      fc.property(userid, fc.constantFrom(DOT, SLASH), (id, naming) => {
        assert.equal(inboxNameOfAnyUser(id, naming), useridToMailbox(id, naming));
      }),
    );
  });

  test('spells userids the wire refuses as Cyrus shows them, and gives up only on what no name can spell', () => {
    assert.equal(inboxNameOfAnyUser('a*b.x', DOT), 'user.a*b^x');
    assert.equal(inboxNameOfAnyUser('a*b.x', SLASH), 'user/a*b.x');
    assert.equal(inboxNameOfAnyUser('ab ', DOT), 'user.ab ');
    assert.equal(inboxNameOfAnyUser('bad\uD800', DOT), null);
  });
});
