// bootstrap.maxBytesPerWindow is kept in the state database: a restart inside a window goes on with what
// the window used, and the next opening starts from nothing. Injected times; windows in the process TZ (UTC here).
process.env.TZ = 'UTC';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { planCycle } from '../../src/scheduler/plan/plan-cycle.js';
import { BootstrapGroups } from '../../src/scheduler/state/bootstrap-groups.js';
import { MIGRATIONS } from '../../src/scheduler/state/migrations.js';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { parseDailyWindow } from '../../src/units/daily-window.js';
import { planInput, seen, user } from './plan/plan-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-budget-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const t = (iso: string) => Date.parse(iso);
const WINDOW = parseDailyWindow('01:00-05:00');
const MAX = { value: 1000, text: '1000B' };

test('a restart inside a window goes on with the bytes the window used; the next opening starts from 0', () => {
  const file = join(dir, 'restart.db');
  const first = openStateDb(file);
  const groups = new BootstrapGroups(first);
  groups.end(groups.start(t('2026-11-23T23:30:00Z'), 5000), t('2026-11-23T23:40:00Z')); // the day before, outside the window
  groups.end(groups.start(t('2026-11-24T01:10:00Z'), 600), t('2026-11-24T01:50:00Z'));
  groups.start(t('2026-11-24T02:00:00Z'), 300); // left open by a crash
  first.close();

  const reopened = new BootstrapGroups(openStateDb(file));
  const now = t('2026-11-24T02:30:00Z');
  assert.equal(reopened.bytesThisWindow(WINDOW, now), 900);
  const input = planInput([user('a', 'missing', { mailBytes: 50 }), user('b', 'missing', { mailBytes: 100 })], {
    now,
    bootstrap: { ...planInput([]).bootstrap, window: WINDOW, budget: { maxBytes: MAX, usedBytes: reopened.bytesThisWindow(WINDOW, now) } },
  });
  assert.deepEqual(seen(planCycle(input)), { planned: ['a first'], held: { b: 'bootstrap-budget' } });

  assert.equal(reopened.bytesThisWindow(WINDOW, t('2026-11-24T12:00:00Z')), 0, 'closed: nothing to count');
  assert.equal(reopened.bytesThisWindow(WINDOW, t('2026-11-25T01:00:00Z')), 0, 'the next opening');
  assert.equal(reopened.bytesThisWindow(null, t('2026-11-24T20:00:00Z')), 900, 'without a window, the local day');
});

test('groups from before the migration (no bytes) count as 0', () => {
  const file = join(dir, 'old.db');
  const old = new Database(file);
  old.exec(MIGRATIONS.slice(0, -1).join(';\n'));
  old.pragma(`user_version = ${MIGRATIONS.length - 1}`);
  old.prepare('INSERT INTO bootstrap_group (started_at, ended_at) VALUES (?, ?)').run(t('2026-11-24T01:10:00Z'), t('2026-11-24T01:20:00Z'));
  old.close();
  const groups = new BootstrapGroups(openStateDb(file));
  groups.start(t('2026-11-24T01:30:00Z'), 70);
  assert.equal(groups.bytesThisWindow(WINDOW, t('2026-11-24T02:00:00Z')), 70);
});
