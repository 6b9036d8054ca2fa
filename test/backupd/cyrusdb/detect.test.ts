// Backend detection by magic, and the CRC-32 both twoskip checks rely on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectBackend, SKIPLIST_MAGIC, TWOSKIP_MAGIC } from '../../../src/backupd/cyrusdb/detect.js';

describe('detectBackend', () => {
  test('the magic decides, whatever is configured', () => {
    assert.equal(detectBackend(TWOSKIP_MAGIC, 'flat'), 'twoskip');
    assert.equal(detectBackend(SKIPLIST_MAGIC, 'twoskip'), 'skiplist');
    assert.equal(detectBackend(Buffer.concat([SKIPLIST_MAGIC, Buffer.alloc(100)]), 'flat'), 'skiplist');
  });

  test('like Cyrus, only the first 16 bytes decide (the parser checks the rest)', () => {
    const odd = Buffer.from(TWOSKIP_MAGIC);
    odd[18] = 0x41;
    assert.equal(detectBackend(odd, 'flat'), 'twoskip');
  });

  test('without magic the configured backend is used; default twoskip', () => {
    assert.equal(detectBackend(Buffer.from('alice\t/a\n'), 'flat'), 'flat');
    assert.equal(detectBackend(Buffer.alloc(0), 'flat'), 'flat');
    assert.equal(detectBackend(Buffer.from('alice\t/a\n')), 'twoskip');
    assert.equal(detectBackend(Buffer.alloc(336), 'skiplist'), 'skiplist');
  });
});
