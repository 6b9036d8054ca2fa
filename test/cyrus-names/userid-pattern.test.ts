import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileUseridPattern, matchesAny } from '../../src/cyrus-names/userid-pattern.js';
import { hottestBlockCount } from '../support/block-counts.js';
import { fuzzSettings } from '../support/fuzz-settings.js';

const matches = (pattern: string, userid: string) => matchesAny(userid, [compileUseridPattern(pattern)]);

/** What userid patterns have always meant, as a backtracking RegExp: right on small inputs, only slow on big ones. */
function referenceMatches(pattern: string, userid: string): boolean {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '%') source += '[^.@]*';
    else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'su').test(userid);
}

describe('userid patterns: * anything, % anything but . and @', () => {
  const cases: Array<[pattern: string, userid: string, expected: boolean]> = [
    ['anne', 'anne', true],
    ['anne', 'annette', false],
    ['anne', 'Anne', false],
    ['a.b', 'axb', false],
    ['*', '', true],
    ['*', 'anne.smith@example.com', true],
    ['a*', 'anne@example.com', true],
    ['a*', 'bob', false],
    ['*@example.com', 'anne@example.com', true],
    ['*@example.com', 'anne@example.org', false],
    ['%', 'anne', true],
    ['%', '', true],
    ['%', 'anne.smith', false],
    ['%', 'anne@example.com', false],
    ['%@example.com', 'anne@example.com', true],
    ['%@example.com', 'anne.smith@example.com', false],
    ['%.%', 'anne.smith', true],
    ['%.%', 'anne.smith.jr', false],
    ['a%e', 'anne', true],
    ['a%e', 'an.e', false],
    ['%%', 'anne', true],
    ['%*', 'anne.smith', true],
    ['*%', 'anne.smith', true],
    ['*%.%', 'a.b.c', true],
    ['%*%', 'a.b@c', true],
    ['*s*s*', 'sass', true],
    ['*s*s*', 'sax', false],
    ['a*b*c', 'abxbc', true],
    ['a*b*c', 'acb', false],
    ['*.*', 'anne', false],
    ['%é', 'josé', true],
    ['jos%', 'josé', true],
    ['a%b', 'a😀b', true],
    ['a?b', 'a?b', true],
    ['a?b', 'axb', false],
    ['a+', 'aa', false],
    ['(a)', '(a)', true],
    ['[a]', 'a', false],
  ];
  for (const [pattern, userid, expected] of cases) {
    test(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(userid)}`, () => {
      assert.equal(matches(pattern, userid), expected);
      assert.equal(referenceMatches(pattern, userid), expected, 'as it always has');
    });
  }

  test('the same answer as the reference on random small patterns and userids', () => {
    const fuzz = fuzzSettings();
    // Few letters, so that patterns and userids meet often; the separators, and characters beyond ASCII and the BMP.
    const unit = fc.constantFrom('a', 'b', '.', '@', 'é', '😀');
    const pattern = fc.array(fc.oneof(unit, fc.constantFrom('*', '%')), { maxLength: 8 }).map((a) => a.join(''));
    const userid = fc.array(unit, { maxLength: 10 }).map((a) => a.join(''));
    fc.assert(
      fc.property(pattern, userid, (p, u) => matches(p, u) === referenceMatches(p, u)),
      { seed: fuzz.seed, numRuns: fuzz.runs(20_000), examples: [['*a*%', 'aa.'], ['%a%', 'a.a'], ['*.%', 'a.'], ['%*@', 'a.b@']] },
    );
  });
});

describe('userid patterns match in at most (userid length + 1) × (pattern length + 1) steps', () => {
  const long = 'anne.smith.the.third.of.that.name@departement-of-long-names.example.com'.repeat(3);
  const cases: Array<[what: string, pattern: string, userid: string]> = [
    ['12 stars', `${'*'.repeat(12)}#`, long],
    ['30 stars', `${'*'.repeat(30)}#`, long],
    ['30 stars, each before a letter the userid repeats', `${'*a'.repeat(30)}*#`, 'a'.repeat(200)],
    ['30 %, each before a letter', `${'%a'.repeat(30)}%#`, 'a'.repeat(200)],
    ['30 %, each before a dot', `${'%.'.repeat(30)}%#`, 'a.'.repeat(100)],
    ['stars and % mixed', `${'*%.%'.repeat(15)}#`, 'a.a@'.repeat(50)],
  ];
  for (const [what, pattern, userid] of cases) {
    test(`${what}: no match, and no backtracking`, async () => {
      let result: boolean | undefined;
      const steps = await hottestBlockCount<typeof import('../../src/cyrus-names/userid-pattern.js')>(
        new URL('../../src/cyrus-names/userid-pattern.js', import.meta.url),
        (m) => (result = m.matchesAny(userid, [m.compileUseridPattern(pattern)])),
      );
      assert.equal(result, false);
      const bound = ([...userid].length + 1) * ([...pattern].length + 1);
      assert.ok(steps <= bound, `${steps} steps for a userid of ${userid.length} and a pattern of ${pattern.length}: more than ${bound}`);
    });
  }
});
