import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackupOutcome, BackupResult } from '../../src/scheduler/backup-result.js';
import { tallyBootstrap } from '../../src/scheduler/bootstrap-run.js';
import type { HeldUser } from '../../src/scheduler/plan/plan-types.js';

const result = (userid: string, outcome: BackupOutcome): BackupResult => ({
  userid, server: 'imap1', outcome, startedAt: 0, seconds: 1, error: outcome === 'ok' ? null : 'NO', inDoubt: false,
  connectionDropped: false, locked: false, group: 1, verifiedBackupAt: null, pattern: 'user.x', chunks: null,
});
const held = (userid: string): HeldUser => ({ userid, reason: 'backoff', detail: 'retry later' });

test('a bootstrap counts each user once, by its final outcome', () => {
  // Six users: a, b, c backed up; d failed and waits for its retry (so it is also held); e failed, was
  // tried again in a later group once its backoff ran out, and failed again; f was never reached.
  const tally = tallyBootstrap({
    results: [result('a', 'ok'), result('b', 'ok'), result('d', 'no'), result('e', 'error'), result('c', 'ok'), result('e', 'no')],
    leftOver: [held('d'), held('f')],
  });
  assert.deepEqual(tally, { ok: 3, failed: 2, leftOver: 1 });
  assert.equal(tally.ok + tally.failed + tally.leftOver, 6);
});

test('a user that failed and then succeeded in a later group is ok, not also failed', () => {
  assert.deepEqual(tallyBootstrap({ results: [result('a', 'no'), result('a', 'ok')], leftOver: [] }), { ok: 1, failed: 0, leftOver: 0 });
});
