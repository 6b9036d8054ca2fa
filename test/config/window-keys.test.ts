// The window keys are validated where they are read: file, line, key and what is allowed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { effectiveConfig } from '../../src/config/effective.js';
import { ConfigError, ConfigErrors } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-window-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string) {
  const file = join(dir, 'c.yaml');
  writeFileSync(file, text, { mode: 0o600 });
  return { file, load: () => loadConfig(file) };
}

function problems(text: string): string[] {
  const { file, load: run } = load(text);
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message.replace(`${file}:`, 'c.yaml:'));
    if (err instanceof ConfigError) return [err.message.replace(`${file}:`, 'c.yaml:')];
    throw err;
  }
  return [];
}

test('the window keys load, and config show writes them back as written', () => {
  const c = load('bootstrap:\n  window: "22:00-04:00"\n  maxBytesPerWindow: 200GiB\npolicy:\n  window: "00:00-24:00"\nmaintenance:\n  window: "01:00-05:00"\n').load();
  assert.deepEqual(c.bootstrap.window, { text: '22:00-04:00', startMinute: 1320, endMinute: 240 });
  assert.deepEqual(c.bootstrap.maxBytesPerWindow, { value: 200 * 1024 ** 3, text: '200GiB' });
  const shown = effectiveConfig(c) as Record<string, Record<string, unknown>>;
  assert.equal(shown.bootstrap!.window, '22:00-04:00');
  assert.equal(shown.bootstrap!.maxBytesPerWindow, '200GiB');
  assert.equal(shown.policy!.window, '00:00-24:00');
  assert.deepEqual(shown.maintenance, { window: '01:00-05:00', compactChunks: 100, verifyEvery: '30d', concurrent: 1, timeout: '1h' });
});

test('left out, there is no window and no budget', () => {
  const c = load('state: /tmp/s.db\n').load();
  assert.equal(c.bootstrap.window, undefined);
  assert.equal(c.bootstrap.maxBytesPerWindow, undefined);
  assert.equal(c.policy.window, undefined);
  assert.equal(c.maintenance.window, undefined);
});

const REFUSED: Array<[string, RegExp]> = [
  ['bootstrap:\n  window: "03:00-03:00"\n', /^c\.yaml:2: bootstrap\.window: "03:00-03:00" opens and closes at the same minute, so it is never open; for all day write 00:00-24:00/],
  ['policy:\n  maxAge: 24h\n  window: "1am-5am"\n', /^c\.yaml:3: policy\.window: "1am-5am" is not a window: expected HH:MM-HH:MM/],
  ['maintenance:\n  window: 5\n', /^c\.yaml:2: maintenance\.window: expected the maintenance window as HH:MM-HH:MM/],
  ['maintenance:\n  window: "01:00-05:00"\n  wndow: x\n', /^c\.yaml:3: maintenance\.wndow: unknown key/],
  ['bootstrap:\n  maxBytesPerWindow: 0\n', /^c\.yaml:2: bootstrap\.maxBytesPerWindow: 0B is below the least first-backup bytes per window that can work, 1B: a budget of 0 cannot be kept/],
];
for (const [text, message] of REFUSED) {
  test(`refused with file, line and key: ${JSON.stringify(text)}`, () => assert.match(problems(text)[0] ?? '', message));
}
