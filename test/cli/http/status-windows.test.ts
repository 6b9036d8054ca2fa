// The status page's windows: open or closed, when that changes, and the first-backup budget used.
process.env.TZ = 'UTC';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { windowsPart } from '../../../src/cli/http/status-windows.js';
import { parseDailyWindow } from '../../../src/units/daily-window.js';
import { fakeRunView, twoServerConfig } from '../../support/fake-run-view.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');

test('each configured window, open or closed, when it opens or closes, and the budget used this window', () => {
  const base = twoServerConfig();
  const config = {
    ...base,
    bootstrap: { ...base.bootstrap, window: parseDailyWindow('01:00-05:00'), maxBytesPerWindow: { value: 10 * 1024 ** 3, text: '10GiB' } },
    policy: { ...base.policy, window: parseDailyWindow('22:00-14:00') },
    maintenance: { ...base.maintenance, window: parseDailyWindow('02:00-04:00') },
  };
  assert.deepEqual(windowsPart(fakeRunView({ config, bootstrapBytes: 700 }), NOW), {
    windows: [
      { key: 'bootstrap.window', window: '01:00-05:00', open: false, opensAt: '2026-11-24T01:00:00.000Z', closesAt: '2026-11-24T05:00:00.000Z' },
      { key: 'policy.window', window: '22:00-14:00', open: true, opensAt: null, closesAt: '2026-11-23T14:00:00.000Z' },
      { key: 'maintenance.window', window: '02:00-04:00', open: false, opensAt: '2026-11-24T02:00:00.000Z', closesAt: '2026-11-24T04:00:00.000Z' },
    ],
    firstBackupBudget: { maxBytes: '10GiB', maxBytesValue: 10 * 1024 ** 3, usedBytes: 700, per: 'bootstrap.window' },
  });
});

test('no windows configured: nothing to show', () => {
  assert.deepEqual(windowsPart(fakeRunView(), NOW), { windows: [], firstBackupBudget: null });
});
