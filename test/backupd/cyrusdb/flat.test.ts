// The flat reader's decoding and line rules.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CyrusDbError } from '../../../src/backupd/cyrusdb/errors.js';
import { parseFlat } from '../../../src/backupd/cyrusdb/flat.js';

const FILE = '/var/lib/cyrus/backups.db';
const latin1 = (text: string) => Buffer.from(text, 'latin1');
const pairs = (bytes: Buffer) => parseFlat(bytes, FILE).map(({ key, value }) => [key.toString('latin1'), value.toString('latin1')]);

describe('parseFlat', () => {
  test('an empty file is an empty database', () => {
    assert.deepEqual(parseFlat(Buffer.alloc(0), FILE), []);
  });

  test('lines are returned in file order, empty values allowed', () => {
    assert.deepEqual(pairs(latin1('bob\t/b\nalice\t\n')), [['bob', '/b'], ['alice', '']]);
  });

  test('escapes: FF FF -> FF, FF x -> x & 0x7F, a trailing lone FF is dropped', () => {
    const file = latin1('tab\xff\x89key\tnul\xff\x80\xff\x8a\xff\x8d\n\xff\xff\tv\xff\n');
    assert.deepEqual(pairs(file), [['tab\tkey', 'nul\0\n\r'], ['\xff', 'v']]);
  });

  test('a raw TAB after the first stays in the value', () => {
    assert.deepEqual(pairs(latin1('k\tv1\tv2\n')), [['k', 'v1\tv2']]);
  });

  test('fields without escapes are views into the file, not copies', () => {
    const file = latin1('alice\t/a\n');
    const [entry] = parseFlat(file, FILE);
    assert.equal(entry.key.buffer, file.buffer);
    assert.equal(entry.value.buffer, file.buffer);
  });

  test('a last line without LF is TRUNCATED at its start', () => {
    assert.throws(
      () => parseFlat(latin1('alice\t/a\nbob\t/b'), FILE),
      (error) => error instanceof CyrusDbError && error.code === 'TRUNCATED' && error.offset === 9,
    );
  });

  test('a line without TAB is BAD_LINE, even when the next line has one', () => {
    assert.throws(
      () => parseFlat(latin1('alice\t/a\nbob /b\ncarol\t/c\n'), FILE),
      (error) => error instanceof CyrusDbError && error.code === 'BAD_LINE' && error.offset === 9 && /line 2/.test(error.message),
    );
  });

  // The time is printed, not asserted: a wall-clock bound fails on a busy machine for reasons not the parser's.
  test('parses a large file without escapes, every entry', (t) => {
    const lines = Array.from({ length: 200_000 }, (_, i) => `user${i}@example.com\t/var/spool/cyrus/backup/u/user${i}_Ab12Cd\n`);
    const file = Buffer.from(lines.join(''));
    const started = performance.now();
    const entries = parseFlat(file, FILE);
    t.diagnostic(`200,000 lines parsed in ${Math.round(performance.now() - started)} ms`);
    assert.equal(entries.length, 200_000);
    assert.equal(entries[199_999]!.value.toString(), '/var/spool/cyrus/backup/u/user199999_Ab12Cd');
  });
});
