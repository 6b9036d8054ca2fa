// What alerts depend on, kept in the state database: a restart into a failing state still knows the last success.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { CycleLog } from '../../src/scheduler/state/cycle-log.js';
import { ServerStates } from '../../src/scheduler/state/server-state.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-cycle-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const NOW = Date.parse('2026-12-01T12:00:00Z');
const POLICY = { baseDelay: 60_000, maxDelay: 3_600_000 };

test('cycle results and the last of each survive closing and opening the state database again', () => {
  const file = join(dir, 'state.db');
  const db = openStateDb(file);
  const log = new CycleLog(db);
  assert.deepEqual(log.totals(), { counts: { success: 0, failure: 0, error: 0 }, lastAt: { success: null, failure: null, error: null } });
  log.record('success', NOW);
  log.record('failure', NOW + 1000);
  log.record('failure', NOW + 2000);
  db.close();
  const again = openStateDb(file);
  assert.deepEqual(new CycleLog(again).totals(), { counts: { success: 1, failure: 2, error: 0 }, lastAt: { success: NOW, failure: NOW + 2000, error: null } });
  again.close();
});

test("a breaker that a failed discovery opened closes when the server answers discovery; one an XBACKUP opened stays open", () => {
  const db = openStateDb(join(dir, 'breakers.db'));
  const states = new ServerStates(db);
  states.trip('imap1', 'imap1: connection refused', false, 'discovery', POLICY, NOW);
  states.trip('imap2', 'imap2: NO Retry operation', false, 'xbackup', POLICY, NOW);
  states.answered('imap1');
  states.answered('imap2');
  const after = states.all();
  assert.deepEqual(after.get('imap1'), { pausedUntil: null, consecutiveFailures: 0, droppedInARow: 0, lastError: null, trippedBy: null });
  assert.equal(after.get('imap2')!.consecutiveFailures, 1);
  assert.equal(after.get('imap2')!.trippedBy, 'xbackup');
  db.close();
});
