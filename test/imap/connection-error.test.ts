import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectionError } from '../../src/imap/admin-session.js';

test('a greeting timeout on a plain connection is a timeout, never advice about a certificate', () => {
  const err = Object.assign(new Error('Failed to receive greeting from server in required time. Maybe should use TLS?'), { code: 'GREETING_TIMEOUT' });
  const e = connectionError('imap1', err);
  assert.equal(e.problem, 'timeout');
  assert.doesNotMatch(e.message, /certificate/);
  assert.match(e.message, /the port speaks TLS while servers\[\]\.tls says otherwise/);
});

test('a certificate that cannot be verified is still a certificate problem', () => {
  const e = connectionError('imap1', Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }));
  assert.equal(e.problem, 'tls');
});
