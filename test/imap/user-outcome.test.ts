import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { unrequestedUserLines, userOutcomes } from '../../src/imap/user-outcome.js';
import type { XbackupItem, XbackupRun } from '../../src/imap/xbackup.js';
import { XbackupFailure } from '../../src/imap/xbackup-failure.js';

const item = (kind: XbackupItem['kind'], text: string, ok = true): XbackupItem => ({ kind, text, ok, at: 5 });
const run = (items: XbackupItem[], failure: XbackupFailure | null = null): XbackupRun => ({
  server: 'imap1',
  pattern: 'user.a*',
  channel: 'backup',
  startedAt: 1,
  endedAt: 9,
  items,
  unkeptLines: 0,
  tagged: failure ? null : { status: 'OK', text: 'Completed' },
  failure,
});

describe('%SHARED is judged by the MAILBOX lines of its shared mailboxes', () => {
  test('every one OK: ok', () => {
    const [o] = userOutcomes(run([item('mailbox', 'shared'), item('mailbox', 'shared.news')]), ['%SHARED']);
    assert.deepEqual([o!.outcome, o!.error], ['ok', null]);
  });
  test('one NO: no, naming it', () => {
    const [o] = userOutcomes(run([item('mailbox', 'shared'), item('mailbox', 'shared.news (Mailbox is locked)', false)]), ['%SHARED']);
    assert.equal(o!.outcome, 'no');
    assert.match(o!.error!, /MAILBOX shared\.news \(Mailbox is locked\)/);
  });
  test('a failure of one of the commands: the whole is that failure, in doubt after a timeout', () => {
    const [o] = userOutcomes(run([item('mailbox', 'shared')], new XbackupFailure('timeout', 'imap1', 'shared.news', 'backup', 'no tagged answer after 1 s')), ['%SHARED']);
    assert.deepEqual([o!.outcome, o!.inDoubt], ['error', true]);
  });
});

describe('USER lines no requested user claims', () => {
  test('are given back with the userid they spell; claimed ones are not', () => {
    const lines = unrequestedUserLines(run([item('user', 'anne'), item('user', 'annette'), item('user', 'ann b (Mailbox is locked)', false)]), ['anne']);
    assert.deepEqual(
      lines.map(({ userid, ok, error }) => [userid, ok, error]),
      [
        ['annette', true, null],
        ['ann b', false, 'Mailbox is locked'],
      ],
    );
  });
});
