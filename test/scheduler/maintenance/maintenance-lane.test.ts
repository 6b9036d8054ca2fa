// The maintenance lane against a fake ctl_backups (a script that logs each run and answers per user) and
// a real state database: what it runs and in what order, what it records, and what it never does.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { MaintenanceLane } from '../../../src/scheduler/maintenance/maintenance-lane.js';
import type { MaintenancePolicy } from '../../../src/scheduler/maintenance/maintenance-queue.js';
import type { MaintenanceStatus } from '../../../src/scheduler/maintenance/maintenance-status.js';
import { MaintenanceLog } from '../../../src/scheduler/state/maintenance-log.js';
import { openStateDb } from '../../../src/scheduler/state/open-state-db.js';
import { UserMemory } from '../../../src/scheduler/state/user-memory.js';
import type { UserStatus } from '../../../src/staleness/classify.js';
import { parseDailyWindow } from '../../../src/units/daily-window.js';
import { userStatus } from '../../support/user-status.js';
import { waitFor } from '../../support/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-lane-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.parse('2026-11-23T12:00:00Z');
// verifyEvery a day: each opening's share is every backup (the spread itself: maintenance-queue.test.ts).
const POLICY: MaintenancePolicy = { window: null, compactChunks: 100, compactBelowUtilisation: null, verifyEvery: D };

/**
 * A fake ctl_backups: appends `<verb> <userid>` to its log, and answers `failed (…)` for users listed in
 * `damaged`, `locked` for those in `locked`, `ok` for the rest. `gate`, when it exists, holds every run until it is removed.
 */
function fakeCtl(name: string, answers: { damaged?: string[]; locked?: string[]; hangOn?: string; unreadOnCompact?: string } = {}): { path: string; log: string; gate: string } {
  const path = join(dir, name);
  const log = `${path}.log`;
  const gate = `${path}.gate`;
  const list = (users: string[] = []) => users.map((u) => `"${u}"`).join(' ') || '""';
  writeFileSync(
    path,
    `#!/bin/sh
while [ "$1" != "--" ]; do shift; done; shift; verb=$1; shift; u=$1
echo "start $verb $u" >> ${log}
while [ -e ${gate} ]; do sleep 0.05; done
${answers.hangOn ? `[ "$u" = "${answers.hangOn}" ] && while :; do sleep 1; done` : ''}
status=ok
for d in ${list(answers.damaged)}; do [ "$u" = "$d" ] && [ "$verb" = verify ] && status='failed (Unknown code ____ 255)'; done
for l in ${list(answers.locked)}; do [ "$u" = "$l" ] && status=locked; done
echo "end $verb $u" >> ${log}
${answers.unreadOnCompact ? `[ "$verb" = compact ] && [ "$u" = "${answers.unreadOnCompact}" ] && echo 'error reading chunk at offset 6989, byte 0: Input/output error'` : ''}
if [ "$verb" = stat ]; then printf '{\\n  "userid": "%s",\\n  "fname": "/d/%s",\\n  "utilisation_ratio": 31.5\\n}\\n' "$u" "$u"; exit 0; fi
printf '{\\n  "command": "%s",\\n  "userid": "%s",\\n  "fname": "/d/%s",\\n  "status": "%s"\\n}\\n' "$verb" "$u" "$u" "$status"
[ "$status" = ok ] || exit 75
`,
  );
  chmodSync(path, 0o755);
  return { path, log, gate };
}

const logOf = (ctl: { log: string }) => (existsSync(ctl.log) ? readFileSync(ctl.log, 'utf8').trim().split('\n') : []);

let dbs = 0;
function lane(ctl: { path: string }, over: { policy?: Partial<MaintenancePolicy>; concurrent?: number; inFlight?: Set<string>; now?: () => number; timeoutMs?: number } = {}) {
  const db = openStateDb(join(dir, `state-${dbs++}.db`));
  const memory = new UserMemory(db);
  const log = new MaintenanceLog(db);
  const statuses: MaintenanceStatus[] = [];
  const it = new MaintenanceLane({
    tool: { prefix: [], ctlBackups: ctl.path, imapdConf: '/etc/backupd.conf', timeoutMs: over.timeoutMs ?? 60_000 },
    policy: { ...POLICY, ...over.policy },
    concurrent: over.concurrent ?? 1,
    memory,
    log,
    xbackupsInFlight: over.inFlight ?? new Set(),
    logger: pino({ level: 'silent' }),
    now: over.now ?? (() => NOW),
    timeZone: 'UTC',
  });
  it.watch((s) => statuses.push(s));
  return { it, memory, log, statuses, close: () => db.close() };
}

const backup = (userid: string, extra: Partial<UserStatus> = {}) => userStatus(userid, 'fresh', H, NOW, extra);

describe('maintenance lane', () => {
  test('verifies every backup due, one per run, and records each verdict: whole, or damaged with what Cyrus said', async () => {
    const ctl = fakeCtl('verdicts', { damaged: ['bob'] });
    const l = lane(ctl);
    l.it.offer([backup('anne'), backup('bob')], NOW);
    await l.it.idle();
    assert.deepEqual(logOf(ctl), ['start verify anne', 'end verify anne', 'start verify bob', 'end verify bob']);
    const history = l.memory.all();
    assert.deepEqual(history.get('anne')!.deepVerify, { at: NOW, damage: null, subject: { dataFile: '/b/a/anne_X', chunks: 3, dataBytes: 2048 } });
    assert.equal(history.get('bob')!.deepVerify!.damage, 'Unknown code ____ 255');
    assert.deepEqual(l.log.totals(), [{ verb: 'verify', outcome: 'damaged', runs: 1 }, { verb: 'verify', outcome: 'ok', runs: 1 }]);
    l.close();
  });

  test('compacts only after a clean verify, keeping the backup time first; a damaged one is not compacted', async () => {
    const ctl = fakeCtl('compact', { damaged: ['bob'] });
    const l = lane(ctl);
    l.it.offer([backup('anne', { chunks: 150, realAge: 5 * H, lastDeepVerify: NOW - H }), backup('bob', { chunks: 120, lastDeepVerify: NOW - H })], NOW);
    await l.it.idle();
    assert.deepEqual(logOf(ctl), ['start verify anne', 'end verify anne', 'start compact anne', 'end compact anne', 'start verify bob', 'end verify bob']);
    assert.equal(l.memory.all().get('anne')!.lastVerified, NOW - 5 * H, 'compaction moves the newest chunk back: the backup time is kept');
    assert.equal(l.memory.all().get('bob')!.deepVerify!.damage, 'Unknown code ____ 255');
    l.close();
  });

  test('a compaction that could not read part of the backup (Cyrus says so, then ok) makes it damaged: it dropped that part', async () => {
    const ctl = fakeCtl('unread', { unreadOnCompact: 'anne' });
    const l = lane(ctl);
    l.it.offer([backup('anne', { chunks: 150, lastDeepVerify: NOW - H })], NOW);
    await l.it.idle();
    assert.match(l.memory.all().get('anne')!.deepVerify!.damage ?? '', /^ctl_backups compact could not read part of the backup and dropped it: error reading chunk at offset 6989/);
    l.close();
  });

  test('with compactBelowUtilisation, a whole backup is stat-ed; the next fleet compacts one found below it', async () => {
    const ctl = fakeCtl('stat');
    const l = lane(ctl, { policy: { compactBelowUtilisation: 50 } });
    l.it.offer([backup('anne')], NOW);
    await l.it.idle();
    assert.deepEqual(logOf(ctl), ['start verify anne', 'end verify anne', 'start stat anne', 'end stat anne']);
    assert.deepEqual(l.memory.maintenanceRecords().get('anne')!.utilisation, { percent: 31.5, dataFile: '/b/a/anne_X' });
    l.it.offer([backup('anne', { lastDeepVerify: NOW })], NOW + 1);
    await l.it.idle();
    assert.deepEqual(logOf(ctl).slice(4), ['start verify anne', 'end verify anne', 'start compact anne', 'end compact anne']);
    assert.equal(l.memory.maintenanceRecords().get('anne')!.utilisation, null, 'forgotten once compacted: it was the old data file\'s');
    l.close();
  });

  test('settled once its runs ended and nothing waits, so the fleet shown can take in their verdicts; not before', async () => {
    const ctl = fakeCtl('settled');
    writeFileSync(ctl.gate, '');
    const l = lane(ctl);
    let settled = 0;
    l.it.watch(() => undefined, () => settled++);
    l.it.offer([backup('anne'), backup('bob')], NOW);
    await waitFor(() => logOf(ctl).length === 1, { timeoutMs: 60_000, what: 'the first run started' });
    assert.equal(settled, 0);
    rmSync(ctl.gate);
    await l.it.idle();
    assert.equal(settled, 1, 'once, after both');
    l.it.offer([backup('anne', { lastDeepVerify: NOW }), backup('bob', { lastDeepVerify: NOW })], NOW + 1);
    await l.it.idle();
    assert.equal(settled, 1, 'nothing ran: nothing to take in');
    l.close();
  });

  test('never more runs at once than maintenance.concurrent, and never a user whose XBACKUP is in flight', async () => {
    const ctl = fakeCtl('concurrent');
    writeFileSync(ctl.gate, '');
    const l = lane(ctl, { concurrent: 2, inFlight: new Set(['carl']) });
    l.it.offer(['anne', 'bob', 'carl', 'dora', 'emil'].map((u) => backup(u)), NOW);
    await waitFor(() => logOf(ctl).length === 2, { timeoutMs: 60_000, what: 'two runs started' });
    assert.equal(l.it.running.size, 2);
    rmSync(ctl.gate);
    await l.it.idle();
    assert.ok(l.statuses.every((s) => s.running.length <= 2));
    assert.ok(!logOf(ctl).some((line) => line.endsWith(' carl')), 'carl, whose XBACKUP is in flight, is left alone');
    assert.equal(logOf(ctl).filter((line) => line.startsWith('start')).length, 4);
    l.close();
  });

  test('a closed window starts nothing, and says when it opens', async () => {
    const ctl = fakeCtl('closed');
    const l = lane(ctl, { policy: { window: parseDailyWindow('01:00-05:00') } });
    l.it.offer([backup('anne')], NOW);
    await l.it.idle();
    assert.deepEqual(logOf(ctl), []);
    const status = l.it.status();
    assert.equal(status.open, false);
    assert.equal(status.opensAt, Date.parse('2026-11-24T01:00:00Z'));
    assert.equal(status.due.rolling, 1);
    l.close();
  });

  test('the window closing while jobs wait: no more start', async () => {
    const ctl = fakeCtl('closing');
    let now = Date.parse('2026-11-23T04:59:00Z');
    const l = lane(ctl, { policy: { window: parseDailyWindow('01:00-05:00') }, now: () => now });
    writeFileSync(ctl.gate, '');
    l.it.offer([backup('anne'), backup('bob')], now);
    await waitFor(() => logOf(ctl).length === 1, { timeoutMs: 60_000, what: 'the first run started' });
    now = Date.parse('2026-11-23T05:00:00Z');
    rmSync(ctl.gate);
    await l.it.idle();
    assert.deepEqual(logOf(ctl), ['start verify anne', 'end verify anne']);
    l.close();
  });

  test('a verify that never ends is killed at maintenance.timeout and counts as a finding', async () => {
    const ctl = fakeCtl('hang', { hangOn: 'anne' });
    const l = lane(ctl, { timeoutMs: 300 });
    l.it.offer([backup('anne')], NOW);
    await l.it.idle();
    assert.match(l.memory.all().get('anne')!.deepVerify!.damage ?? '', /did not end within maintenance\.timeout/);
    l.close();
  });

  test('locked is no verdict: nothing recorded but the run, and the user is tried again with the next fleet', async () => {
    const ctl = fakeCtl('locked', { locked: ['anne'] });
    const l = lane(ctl);
    l.it.offer([backup('anne')], NOW);
    await l.it.idle();
    assert.equal(l.memory.all().get('anne')?.deepVerify ?? null, null);
    assert.equal(l.log.recent(1)[0]!.outcome, 'not-now');
    l.close();
  });

  test('a ctl_backups that cannot run stops the lane until the next fleet, and says why', async () => {
    const l = lane({ path: join(dir, 'no-such-ctl_backups') });
    l.it.offer([backup('anne'), backup('bob')], NOW);
    await l.it.idle();
    assert.equal(l.log.recent(5).length, 1, 'one failed run, not one per user');
    assert.match(l.it.status().toolProblem ?? '', /could not start .*ENOENT/);
    l.close();
  });

  test('stop: no new runs; one under way past the grace is cut short and recorded so, with no verdict', async () => {
    const ctl = fakeCtl('stop');
    writeFileSync(ctl.gate, '');
    const l = lane(ctl);
    l.it.offer([backup('anne'), backup('bob')], NOW);
    await waitFor(() => logOf(ctl).length === 1, { timeoutMs: 60_000, what: 'the first run started' });
    await l.it.stop(0);
    assert.deepEqual(logOf(ctl), ['start verify anne']);
    assert.equal(l.log.recent(1)[0]!.outcome, 'not-now');
    assert.equal(l.memory.all().get('anne')?.deepVerify ?? null, null);
    rmSync(ctl.gate);
    l.close();
  });
});
