import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DURATION_PATTERN, parseDuration } from '../../src/units/duration.js';
import { parseSize, SIZE_PATTERN } from '../../src/units/size.js';

const accepts = (parse: (t: string) => number, text: string) => {
  try {
    parse(text);
    return true;
  } catch {
    return false;
  }
};

test('the JSON Schema patterns of durations and sizes accept exactly what the parsers accept', () => {
  const durations = ['90s', '10m', '24h', '7d', '2w', '1h30m', '250ms', '1.5h', ' 5m ', '', '60', '5 minutes', 'h', '10M', '1h 30m', '-5m'];
  for (const t of durations) assert.equal(new RegExp(DURATION_PATTERN, 'u').test(t), accepts(parseDuration, t), `duration ${JSON.stringify(t)}`);
  const sizes = ['500MB', '2GiB', '2gib', '12mb', '100', '1.5 GB', '0', '10B', 'GB', '5 PB', '-1MB', '2 GiBs', ''];
  for (const t of sizes) assert.equal(new RegExp(SIZE_PATTERN, 'u').test(t), accepts(parseSize, t), `size ${JSON.stringify(t)}`);
});
