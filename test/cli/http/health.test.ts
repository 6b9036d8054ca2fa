import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeHealth } from '../../../src/cli/http/health.js';
import type { ServerBreaker } from '../../../src/cli/http/run-view.js';
import type { CycleSummary } from '../../../src/scheduler/scheduler-loop.js';
import { H, loopStatus, NOW } from '../../support/fake-run-view.js';

const M = 60_000;
const healthyServers: ServerBreaker[] = [{ name: 'imap1', paused: false, pausedUntil: null, lastError: null }];
const cycle = (endedAt: number, error: string | null = null): CycleSummary => ({
  why: 'schedule',
  startedAt: endedAt - 5000,
  endedAt,
  attempted: 3,
  failed: 0,
  result: error === null ? 'success' : 'error',
  because: error === null ? [] : ['the cycle could not run'],
  error,
});
const failedCycle = (endedAt: number): CycleSummary => ({ ...cycle(endedAt), failed: 3, result: 'failure', because: ['3 of 3 attempts failed'] });

describe('/healthz judgement', () => {
  test('healthy while a cycle has succeeded within three schedules', () => {
    const status = loopStatus({ lastSuccessAt: NOW - 29 * M, recentCycles: [cycle(NOW - 29 * M)] });
    assert.deepEqual(judgeHealth({ now: NOW, status, scheduleInterval: 10 * M, servers: healthyServers }), { healthy: true, reasons: [] });
  });

  test('unhealthy when the last successful cycle is older than three schedules, saying why', () => {
    const status = loopStatus({ lastSuccessAt: NOW - 31 * M, recentCycles: [cycle(NOW - M, 'backups.db: CRC mismatch'), cycle(NOW - 31 * M)] });
    const health = judgeHealth({ now: NOW, status, scheduleInterval: 10 * M, servers: healthyServers });
    assert.equal(health.healthy, false);
    assert.deepEqual(health.reasons, ['the last successful cycle ended 31m ago, more than 3 schedules of 10m; the last cycle could not run (the log and the status page say why)']);
  });

  test('one failed cycle alone is not an outage', () => {
    const status = loopStatus({ lastSuccessAt: NOW - 11 * M, recentCycles: [cycle(NOW - M, 'torn read'), cycle(NOW - 11 * M)] });
    assert.equal(judgeHealth({ now: NOW, status, scheduleInterval: 10 * M, servers: healthyServers }).healthy, true);
  });

  test('before any success, counted from the start; a long first cycle says it is running', () => {
    const young = loopStatus({ startedAt: NOW - 20 * M, runningSince: NOW - 20 * M });
    assert.equal(judgeHealth({ now: NOW, status: young, scheduleInterval: 10 * M, servers: healthyServers }).healthy, true);
    const stuck = loopStatus({ startedAt: NOW - 2 * H, runningSince: NOW - 2 * H });
    assert.deepEqual(judgeHealth({ now: NOW, status: stuck, scheduleInterval: 10 * M, servers: healthyServers }).reasons, [
      'no cycle has succeeded since the start 2h ago, more than 3 schedules of 10m; a cycle has been running for 2h',
    ]);
  });

  test('unhealthy while an IMAP server is paused by its circuit breaker, saying when it is probed next', () => {
    const status = loopStatus({ lastSuccessAt: NOW - M });
    const servers: ServerBreaker[] = [...healthyServers, { name: 'imap2', paused: true, pausedUntil: NOW + 5 * M, lastError: 'imap2: NO Retry operation' }];
    assert.deepEqual(judgeHealth({ now: NOW, status, scheduleInterval: 10 * M, servers }).reasons, [
      'imap2 is paused by its circuit breaker until a probe succeeds: the next probe after 2026-11-23T12:05:00.000Z (the log and the status page say why)',
    ]);
  });

  test('still paused once its backoff has ended: only a probe that succeeds closes the breaker (no 200 between probes)', () => {
    const status = loopStatus({ lastSuccessAt: NOW - M });
    const servers: ServerBreaker[] = [{ name: 'imap2', paused: true, pausedUntil: NOW - M, lastError: 'imap2: NO Retry operation' }];
    assert.deepEqual(judgeHealth({ now: NOW, status, scheduleInterval: 10 * M, servers }).reasons, [
      'imap2 is paused by its circuit breaker until a probe succeeds: probed again with the next cycle that has work for it (the log and the status page say why)',
    ]);
  });

  test('cycles that ran but left due work undone are not successes: unhealthy after three schedules of them, saying why', () => {
    const status = loopStatus({ lastSuccessAt: NOW - 40 * M, recentCycles: [failedCycle(NOW - M), failedCycle(NOW - 11 * M), failedCycle(NOW - 21 * M), failedCycle(NOW - 31 * M)] });
    assert.deepEqual(judgeHealth({ now: NOW, status, scheduleInterval: 10 * M, servers: healthyServers }).reasons, [
      'the last successful cycle ended 40m ago, more than 3 schedules of 10m; the last cycle left due work undone: 3 of 3 attempts failed',
    ]);
  });

  test('the reasons (open to anyone at /healthz) never carry an error text, which can name users and mailbox patterns', () => {
    const status = loopStatus({ lastSuccessAt: NOW - 31 * M, recentCycles: [cycle(NOW - M, 'index of anne.smith@example.com: database disk image is malformed')] });
    const servers: ServerBreaker[] = [
      { name: 'imap2', paused: true, pausedUntil: NOW + 5 * M, lastError: 'imap2: XBACKUP "user.anne.smith@example.com" backup: NO Retry operation (the IMAP server could not reach backupd)' },
    ];
    const reasons = judgeHealth({ now: NOW, status, scheduleInterval: 10 * M, servers }).reasons.join('\n');
    assert.doesNotMatch(reasons, /anne|user\.|XBACKUP|Retry|malformed/);
    assert.match(reasons, /imap2 is paused/);
  });
});
