import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { SchedulerMetrics } from '../../../src/cli/http/metrics.js';
import type { BackupResult } from '../../../src/scheduler/backup-result.js';
import { fakeRunView, H, loopStatus, NOW, sampleFleet, twoServerConfig, user } from '../../support/fake-run-view.js';
import { parsePrometheusText, sampleValue, withoutNodeGaugesNamedTotal } from '../../support/prometheus-text.js';
import { sampleMaintenance } from '../../support/sample-maintenance.js';

function result(userid: string, server: string, outcome: BackupResult['outcome'], seconds: number, group: number | null = null): BackupResult {
  return { userid, server, outcome, startedAt: NOW, seconds, error: null, inDoubt: false, connectionDropped: false, locked: false, group, verifiedBackupAt: null, chunks: null, pattern: null };
}

async function scrape(metrics: SchedulerMetrics, view = fakeRunView()): Promise<string> {
  return metrics.render(view, NOW);
}

const PROMTOOL = '/usr/bin/promtool';

describe('/metrics text', () => {
  test('fleet gauges come from the latest snapshot under the conventional names and units', async () => {
    const text = await scrape(new SchedulerMetrics(), fakeRunView({ status: loopStatus({ fleet: sampleFleet(), lastSuccessAt: NOW - 60_000 }) }));
    const parsed = parsePrometheusText(text);
    assert.equal(sampleValue(parsed, 'xbackup_users', { state: 'fresh' }), 2);
    assert.equal(sampleValue(parsed, 'xbackup_users', { state: 'stale' }), 1);
    assert.equal(sampleValue(parsed, 'xbackup_users', { state: 'missing' }), 2);
    assert.equal(sampleValue(parsed, 'xbackup_users', { state: 'conflict' }), 0);
    assert.equal(sampleValue(parsed, 'xbackup_oldest_backup_age_seconds'), 50 * 3600, 'bob; the orphan olga does not count');
    assert.equal(sampleValue(parsed, 'xbackup_max_age_seconds'), 24 * 3600);
    assert.equal(sampleValue(parsed, 'xbackup_bootstrap_remaining_users'), 2);
    assert.equal(sampleValue(parsed, 'xbackup_cycle_last_success_timestamp_seconds'), (NOW - 60_000) / 1000);
    assert.equal(sampleValue(parsed, 'xbackup_report_generated_timestamp_seconds'), NOW / 1000);
    assert.equal(parsed.types.get('xbackup_users'), 'gauge');
    assert.equal(parsed.types.get('xbackup_attempts_total'), 'counter');
    assert.equal(parsed.types.get('xbackup_duration_seconds'), 'histogram');
    assert.equal(sampleValue(parsed, 'xbackup_server_paused', { server: 'imap1' }), 0);
    assert.ok(!parsed.samples.some((s) => s.name === 'xbackup_last_backup_timestamp_seconds'), 'no per-user series unless http.perUserMetrics');
  });

  test('per-user last-backup timestamps only with http.perUserMetrics, for users that have a backup', async () => {
    const fleet = sampleFleet();
    fleet.classification.users.push(user('quote"back\\slash', 'fresh', H, { lastVerified: NOW - H / 2 }));
    const view = fakeRunView({ status: loopStatus({ fleet }), config: twoServerConfig('  perUserMetrics: true\n') });
    const parsed = parsePrometheusText(await scrape(new SchedulerMetrics(), view));
    assert.equal(sampleValue(parsed, 'xbackup_last_backup_timestamp_seconds', { userid: 'anne' }), (NOW - 2 * H) / 1000);
    assert.equal(sampleValue(parsed, 'xbackup_last_backup_timestamp_seconds', { userid: 'quote"back\\slash' }), (NOW - H / 2) / 1000, 'the later of lastBackup and lastVerified, label escaped');
    const users = parsed.samples.filter((s) => s.name === 'xbackup_last_backup_timestamp_seconds').map((s) => s.labels.userid).sort();
    assert.deepEqual(users, ['anne', 'anne.smith@example.com', 'bob', 'carol', 'olga', 'quote"back\\slash'], 'missing users have no backup time');
  });

  test('attempts count by server and outcome from the state database\'s totals on; durations by server and kind', async () => {
    const metrics = new SchedulerMetrics();
    metrics.seedAttempts([
      { server: 'imap1', outcome: 'ok', count: 40 },
      { server: 'imap1', outcome: 'interrupted', count: 1 },
    ]);
    metrics.recordAttempt(result('anne', 'imap1', 'ok', 0.02));
    metrics.recordAttempt(result('bob', 'imap1', 'no', 0.3));
    metrics.recordAttempt(result('dave', 'imap2', 'ok', 1200, 7));
    const parsed = parsePrometheusText(await scrape(metrics));
    assert.equal(sampleValue(parsed, 'xbackup_attempts_total', { server: 'imap1', outcome: 'ok' }), 41);
    assert.equal(sampleValue(parsed, 'xbackup_attempts_total', { server: 'imap1', outcome: 'no' }), 1);
    assert.equal(sampleValue(parsed, 'xbackup_attempts_total', { server: 'imap1', outcome: 'interrupted' }), 1);
    assert.equal(sampleValue(parsed, 'xbackup_attempts_total', { server: 'imap2', outcome: 'ok' }), 1);
    assert.equal(sampleValue(parsed, 'xbackup_duration_seconds_count', { server: 'imap1', kind: 'refresh' }), 2);
    assert.equal(sampleValue(parsed, 'xbackup_duration_seconds_bucket', { server: 'imap1', kind: 'refresh', le: '0.05' }), 1);
    assert.equal(sampleValue(parsed, 'xbackup_duration_seconds_bucket', { server: 'imap2', kind: 'first', le: '900' }), 0);
    assert.equal(sampleValue(parsed, 'xbackup_duration_seconds_bucket', { server: 'imap2', kind: 'first', le: '1800' }), 1);
    assert.equal(sampleValue(parsed, 'xbackup_duration_seconds_sum', { server: 'imap2', kind: 'first' }), 1200);
  });

  test('before the first cycle: no fleet gauges and no last-success time (a 0 would read as 1970)', async () => {
    const parsed = parsePrometheusText(await scrape(new SchedulerMetrics()));
    const names = new Set(parsed.samples.map((s) => s.name));
    assert.ok(!names.has('xbackup_users'));
    assert.ok(!names.has('xbackup_cycle_last_success_timestamp_seconds'));
    assert.ok(!names.has('xbackup_bootstrap_remaining_users'));
    assert.ok(names.has('xbackup_server_paused'));
  });

  test('a server paused by its circuit breaker shows as 1 until its pause ends', async () => {
    const health = new Map([['imap2', { pausedUntil: NOW + 60_000, consecutiveFailures: 2, droppedInARow: 0, lastError: 'connection refused', trippedBy: 'xbackup' as const }]]);
    const parsed = parsePrometheusText(await scrape(new SchedulerMetrics(), fakeRunView({ health })));
    assert.equal(sampleValue(parsed, 'xbackup_server_paused', { server: 'imap1' }), 0);
    assert.equal(sampleValue(parsed, 'xbackup_server_paused', { server: 'imap2' }), 1);
  });

  test('a paused server stays 1 past the end of its backoff, until a probe succeeds: no 0 between probes', async () => {
    const health = new Map([['imap2', { pausedUntil: NOW - 60_000, consecutiveFailures: 3, droppedInARow: 0, lastError: 'NO Retry operation', trippedBy: 'xbackup' as const }]]);
    const parsed = parsePrometheusText(await scrape(new SchedulerMetrics(), fakeRunView({ health })));
    assert.equal(sampleValue(parsed, 'xbackup_server_paused', { server: 'imap2' }), 1);
    const closed = new Map([['imap2', { pausedUntil: null, consecutiveFailures: 0, droppedInARow: 0, lastError: null, trippedBy: null }]]);
    assert.equal(sampleValue(parsePrometheusText(await scrape(new SchedulerMetrics(), fakeRunView({ health: closed }))), 'xbackup_server_paused', { server: 'imap2' }), 0);
  });

  test('cycles by result, the build, Node\'s process metrics, and users and backup bytes per server', async () => {
    const status = loopStatus({ fleet: sampleFleet(), cycleCounts: { success: 4, failure: 9, error: 1 } });
    const parsed = parsePrometheusText(await scrape(new SchedulerMetrics(), fakeRunView({ status })));
    assert.equal(parsed.types.get('xbackup_cycles_total'), 'counter');
    assert.equal(sampleValue(parsed, 'xbackup_cycles_total', { result: 'success' }), 4);
    assert.equal(sampleValue(parsed, 'xbackup_cycles_total', { result: 'failure' }), 9);
    assert.equal(sampleValue(parsed, 'xbackup_cycles_total', { result: 'error' }), 1);
    const build = parsed.samples.filter((x) => x.name === 'xbackup_build_info');
    assert.equal(build.length, 1);
    assert.match(build[0]!.labels.version!, /^\d+\.\d+\.\d+/);
    assert.equal(build[0]!.labels.node, process.version);
    assert.equal(build[0]!.value, 1);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes']) {
      assert.ok(parsed.samples.some((x) => x.name === name), name);
    }
    // imap1: anne, anne.smith, bob, carol (backed up, 2048 bytes each), dave and erin (no backup yet); the orphan olga on none.
    assert.equal(sampleValue(parsed, 'xbackup_server_users', { server: 'imap1' }), 6);
    assert.equal(sampleValue(parsed, 'xbackup_server_backup_bytes', { server: 'imap1' }), 4 * 2048);
    assert.equal(sampleValue(parsed, 'xbackup_server_users', { server: 'imap2' }), 0);
    assert.equal(sampleValue(parsed, 'xbackup_server_backup_bytes', { server: 'imap2' }), 0);
  });

  test('the maintenance lane only while maintenance is on: runs by verb and outcome, window, due by reason, running', async () => {
    const off = parsePrometheusText(await scrape(new SchedulerMetrics(), fakeRunView({ status: loopStatus({ fleet: sampleFleet() }) })));
    assert.ok(!off.samples.some((s) => s.name.startsWith('xbackup_maintenance_')), 'no maintenance series while it is off');
    const metrics = new SchedulerMetrics();
    const on = parsePrometheusText(await scrape(metrics, fakeRunView({ status: loopStatus({ fleet: sampleFleet(), maintenance: sampleMaintenance() }) })));
    assert.equal(on.types.get('xbackup_maintenance_runs_total'), 'counter');
    assert.equal(sampleValue(on, 'xbackup_maintenance_runs_total', { verb: 'verify', outcome: 'ok' }), 120);
    assert.equal(sampleValue(on, 'xbackup_maintenance_runs_total', { verb: 'verify', outcome: 'damaged' }), 1);
    assert.equal(sampleValue(on, 'xbackup_maintenance_runs_total', { verb: 'compact', outcome: 'ok' }), 9);
    assert.equal(sampleValue(on, 'xbackup_maintenance_window_open'), 1);
    assert.equal(sampleValue(on, 'xbackup_maintenance_due', { reason: 'recheck' }), 1);
    assert.equal(sampleValue(on, 'xbackup_maintenance_due', { reason: 'compact' }), 2);
    assert.equal(sampleValue(on, 'xbackup_maintenance_due', { reason: 'rolling' }), 40);
    assert.equal(sampleValue(on, 'xbackup_maintenance_running'), 1);
    const later = sampleMaintenance({ open: false, running: [], totals: [{ verb: 'verify', outcome: 'ok', runs: 121 }] });
    const again = parsePrometheusText(await scrape(metrics, fakeRunView({ status: loopStatus({ fleet: sampleFleet(), maintenance: later }) })));
    assert.equal(sampleValue(again, 'xbackup_maintenance_runs_total', { verb: 'verify', outcome: 'ok' }), 121, 'set to the totals, not added to them');
    assert.deepEqual([sampleValue(again, 'xbackup_maintenance_window_open'), sampleValue(again, 'xbackup_maintenance_running')], [0, 0]);
  });

  test('the fleet\'s deep verification gauges and damaged users, from the snapshot', async () => {
    const fleet = sampleFleet();
    fleet.classification.users.push(user('vera', 'damaged', H, { lastDeepVerify: NOW - 45 * 24 * H, error: 'ctl_backups verify found it wrong' }));
    const parsed = parsePrometheusText(await scrape(new SchedulerMetrics(), fakeRunView({ status: loopStatus({ fleet }) })));
    assert.equal(sampleValue(parsed, 'xbackup_users', { state: 'damaged' }), 1);
    assert.equal(sampleValue(parsed, 'xbackup_oldest_deep_verify_age_seconds'), 45 * 86400);
    assert.equal(sampleValue(parsed, 'xbackup_backups_deep_verified_recently'), 0, 'not within maintenance.verifyEvery (30d by default)');
    assert.equal(sampleValue(parsed, 'xbackup_backups_never_deep_verified'), 5, 'anne, anne.smith, bob, carol and the orphan olga');
  });

  test('promtool check metrics accepts the whole text', { skip: existsSync(PROMTOOL) ? false : `${PROMTOOL} is absent (Debian package prometheus)` }, async () => {
    const metrics = new SchedulerMetrics();
    metrics.recordAttempt(result('anne', 'imap1', 'ok', 0.02));
    const view = fakeRunView({ status: loopStatus({ fleet: sampleFleet(), lastSuccessAt: NOW, cycleCounts: { success: 1, failure: 2, error: 0 }, maintenance: sampleMaintenance() }), config: twoServerConfig('  perUserMetrics: true\n') });
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: withoutNodeGaugesNamedTotal(await scrape(metrics, view)), encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'no lint warnings');
  });
});
