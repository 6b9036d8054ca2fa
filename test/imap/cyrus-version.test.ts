import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasXbackup, parseCyrusVersion } from '../../src/imap/cyrus-version.js';

test('the version comes from ID, or else from the greeting', () => {
  assert.deepEqual(parseCyrusVersion('3.6.1-Debian-3.6.1-4+deb12u5', undefined), { major: 3, minor: 6, patch: 1, text: '3.6.1-Debian-3.6.1-4+deb12u5' });
  assert.deepEqual(parseCyrusVersion(undefined, 'vm Cyrus IMAP 3.10.2 server ready'), { major: 3, minor: 10, patch: 2, text: '3.10.2' });
  assert.equal(parseCyrusVersion(undefined, 'Dovecot ready.'), null);
});

test('XBACKUP exists up to 3.10 and is gone from 3.12', () => {
  const v = (text: string) => parseCyrusVersion(text, undefined)!;
  assert.equal(hasXbackup(v('3.0.0')), true);
  assert.equal(hasXbackup(v('3.10.2')), true);
  assert.equal(hasXbackup(v('3.12.0')), false);
  assert.equal(hasXbackup(v('4.0.1')), false);
});
