// The limits on one command's answer, with small limits so each is reached in a few lines: the error
// names the server, the command and the limit, and is an ImapConnectionError of its own problem, 'limit'.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ImapConnectionError } from '../../src/imap/imap-connection-error.js';
import { RESPONSE_LIMITS, ResponseBudget, ResponseLimitError } from '../../src/imap/response-budget.js';

const budget = () => new ResponseBudget('imap1', 'LIST "" "*"', 'users', { lines: 3, kept: 2, keptChars: 10 });

function exceeded(why: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ResponseLimitError && err instanceof ImapConnectionError, String(err));
    assert.equal(err.problem, 'limit');
    assert.match(err.message, /^imap1: LIST "" "\*" answered with /);
    assert.match(err.why, why);
    return true;
  };
}

describe('what one command may answer with and keep', () => {
  test('lines read: the limit itself passes, one more does not', () => {
    const b = budget();
    for (let i = 0; i < 3; i++) b.line();
    assert.throws(() => b.line(), exceeded(/^more than 3 lines, the most one command may answer with$/));
  });

  test('items kept', () => {
    const b = budget();
    b.keep('a');
    b.keep('b');
    assert.throws(() => b.keep('c'), exceeded(/^more than 2 users, the most one command may keep in memory$/));
  });

  test('the text of the items kept', () => {
    const b = budget();
    b.keep('0123456789');
    assert.throws(() => b.keep('x'), exceeded(/of users, the most one command may keep in memory$/));
  });

  test('the limits stand far above what a Cyrus server of 100,000 users with 20 folders each sends', () => {
    const mailboxes = 100_000 * 21;
    assert.ok(RESPONSE_LIMITS.lines >= 2 * (2 * mailboxes), 'a LIST and a STATUS line per mailbox, twice over');
    assert.ok(RESPONSE_LIMITS.kept >= 5 * 100_000, 'one entry per user, five times over');
    assert.ok(RESPONSE_LIMITS.keptChars >= 100_000 * 490, 'every userid as long as Cyrus allows a mailbox name');
  });
});
