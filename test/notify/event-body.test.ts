import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventBody, eventEnvironment } from '../../src/notify/event.js';

const AT = Date.parse('2026-12-01T10:00:00Z');

describe('the event body (version 1) and the exec hook environment', () => {
  test('a user event: the documented fields', () => {
    const body = eventBody({ kind: 'user.failing', userid: 'anne', server: 'imap1', state: 'failing', previousState: 'stale', error: '3 failed attempts in a row; last: NO Retry operation' }, AT, 'backup1');
    assert.deepEqual(body, {
      version: 1,
      event: 'user.failing',
      at: '2026-12-01T10:00:00.000Z',
      host: 'backup1',
      summary: 'anne is failing on imap1 (was stale): 3 failed attempts in a row; last: NO Retry operation',
      userid: 'anne',
      server: 'imap1',
      state: 'failing',
      previousState: 'stale',
      error: '3 failed attempts in a row; last: NO Retry operation',
    });
  });

  test('a user damaged: what Cyrus found, in the summary and the error', () => {
    const error = 'ctl_backups verify at 2026-12-01T09:00:00.000Z found: chunk 7: checksum mismatch. Start a fresh backup';
    const body = eventBody({ kind: 'user.damaged', userid: 'anne', server: 'imap1', state: 'damaged', previousState: 'fresh', error }, AT, 'backup1');
    assert.equal(body.event, 'user.damaged');
    assert.equal(body.summary, `anne's backup is damaged (was fresh): ${error}`);
    assert.deepEqual([body.state, body.previousState, body.error], ['damaged', 'fresh', error]);
    assert.equal(eventEnvironment(body).XBS_EVENT, 'user.damaged');
  });

  test('a server paused: its next probe as ISO-8601', () => {
    const body = eventBody({ kind: 'server.paused', server: 'imap1', error: 'NO Retry operation', pausedUntil: AT + 5000 }, AT, 'backup1');
    assert.equal(body.pausedUntil, '2026-12-01T10:00:05.000Z');
    assert.equal(body.summary, 'server imap1 paused by its circuit breaker, next probe at 2026-12-01T10:00:05.000Z: NO Retry operation');
  });

  test('an error text is cut at 1,000 characters, in the body and the summary', () => {
    const body = eventBody({ kind: 'cycle.failed', result: 'error', error: 'x'.repeat(5000), attempted: 0, failed: 0, startedAt: AT }, AT, 'b');
    assert.equal((body.error as string).length, 1001);
    assert.ok(body.summary.length < 1100);
  });

  test('the environment: one XBS_ variable per field, empty for null, the body as XBS_JSON, no NUL', () => {
    const body = eventBody({ kind: 'user.recovered', userid: 'bob\0x', server: null, state: 'fresh', previousState: 'failing', error: null }, AT, 'backup1');
    const env = eventEnvironment(body);
    assert.equal(env.XBS_EVENT, 'user.recovered');
    assert.equal(env.XBS_VERSION, '1');
    assert.equal(env.XBS_PREVIOUS_STATE, 'failing');
    assert.equal(env.XBS_SERVER, '');
    assert.equal(env.XBS_USERID, 'bob\\0x');
    assert.equal((JSON.parse(env.XBS_JSON!) as { userid: string }).userid, 'bob\0x', 'JSON escapes it itself');
    assert.ok(Object.values(env).every((v) => !v.includes('\0')));
  });
});
