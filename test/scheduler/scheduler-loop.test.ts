import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import type { CycleOutcome, FleetSnapshot } from '../../src/scheduler/cycle.js';
import { SchedulerLoop } from '../../src/scheduler/scheduler-loop.js';
import { attemptLogLevel, type BackupResult } from '../../src/scheduler/backup-result.js';
import { memoryCycleLog, partsWith } from '../support/loop-parts.js';
import type { UserState } from '../../src/staleness/user-state.js';
import { userStatus } from '../support/user-status.js';

const silent = pino({ level: 'silent' });
const NOW = Date.parse('2026-11-23T12:00:00Z');

function fleet(at: number): FleetSnapshot {
  return { at, maxAge: 86_400_000, notes: [], classification: { coverage: 'complete', users: [] } };
}

function outcome(results: Array<Pick<BackupResult, 'outcome'>>, endedAt: number, extra: Partial<CycleOutcome> = {}): CycleOutcome {
  const attempts = results.map((r) => ({ locked: false, ...r })) as BackupResult[];
  return { startedAt: NOW, endedAt, plan: { refreshes: [], firstGroup: null, planned: [], held: [] }, classification: { coverage: 'complete', users: [] }, results: attempts, group: null, nextGroupAt: null, serversNotAsked: [], pausedServers: [], ...extra };
}

describe('scheduler loop status', () => {
  test('a cycle leaves its summary, the time of success, and the fleet it settled on', async () => {
    const seen: number[] = [];
    const loop: SchedulerLoop = new SchedulerLoop(
      partsWith(async (options): Promise<CycleOutcome> => {
        options.onFleet!(fleet(NOW + 1));
        seen.push(loop.status.fleet!.at);
        assert.equal(loop.status.runningSince, NOW, 'running while the cycle runs');
        options.onFleet!(fleet(NOW + 5));
        return outcome([{ outcome: 'ok' }, { outcome: 'ok' }], NOW + 5);
      }),
      '*/10 * * * *',
      silent,
      () => NOW,
    );
    await loop.tick('start');
    assert.deepEqual(seen, [NOW + 1], 'the fleet before the commands is visible during the cycle');
    assert.equal(loop.status.fleet!.at, NOW + 5);
    assert.equal(loop.status.runningSince, null);
    assert.equal(loop.status.lastSuccessAt, NOW + 5);
    assert.deepEqual(loop.status.recentCycles, [{ why: 'start', startedAt: NOW, endedAt: NOW + 5, attempted: 2, failed: 0, result: 'success', because: [], error: null }]);
  });

  test('a failed cycle is listed with its error and leaves the last success and the fleet as they were', async () => {
    let fail = false;
    const loop = new SchedulerLoop(
      partsWith(async (options) => {
        if (fail) throw new Error('backups.db: CRC mismatch');
        options.onFleet!(fleet(NOW));
        return outcome([], NOW);
      }),
      '*/10 * * * *',
      silent,
      () => NOW,
    );
    await loop.tick('start');
    fail = true;
    await loop.tick('schedule');
    assert.equal(loop.status.lastSuccessAt, NOW);
    assert.equal(loop.status.fleet!.at, NOW);
    assert.deepEqual(loop.status.recentCycles.map((c) => [c.why, c.result, c.error]), [['schedule', 'error', 'backups.db: CRC mismatch'], ['start', 'success', null]]);
    assert.equal(loop.status.cycles, 2);
    assert.deepEqual(loop.status.cycleCounts, { success: 1, failure: 0, error: 1 });
  });

  test('a cycle whose attempts all failed, or that left due users of a paused server undone, is a failure: the last success stays where it was', async () => {
    let clock = NOW;
    const cycles: Array<() => CycleOutcome> = [
      () => outcome([{ outcome: 'ok' }], clock),
      () => outcome(Array.from({ length: 8 }, () => ({ outcome: 'no' as const })), clock),
      () => outcome([], clock, { plan: { refreshes: [], firstGroup: null, planned: [], held: [{ userid: 'anne', reason: 'server-paused', detail: 'imap1 paused' }] } }),
    ];
    const loop = new SchedulerLoop(partsWith(async () => cycles.shift()!()), '*/10 * * * *', silent, () => clock);
    await loop.tick('start');
    clock = NOW + 600_000;
    await loop.tick('schedule');
    clock = NOW + 1_200_000;
    await loop.tick('schedule');
    assert.equal(loop.status.lastSuccessAt, NOW);
    assert.deepEqual(loop.status.cycleCounts, { success: 1, failure: 2, error: 0 });
    assert.deepEqual(loop.status.recentCycles.map((c) => [c.result, c.because]), [
      ['failure', ['1 due user left undone: its IMAP server paused or not reachable']],
      ['failure', ['8 of 8 attempts failed']],
      ['success', []],
    ]);
  });

  test('a restart into a failing state still knows the last success and the counts: the state database keeps them', async () => {
    const log = memoryCycleLog();
    const first = new SchedulerLoop(partsWith(async () => outcome([{ outcome: 'ok' }], NOW), log), '*/10 * * * *', silent, () => NOW);
    await first.tick('start');
    const restarted = new SchedulerLoop(partsWith(async () => outcome([{ outcome: 'error' }], NOW + 600_000), log), '*/10 * * * *', silent, () => NOW + 600_000);
    assert.equal(restarted.status.lastSuccessAt, NOW, 'known before the first cycle of the new run');
    await restarted.tick('start');
    assert.equal(restarted.status.lastSuccessAt, NOW);
    assert.deepEqual(restarted.status.cycleCounts, { success: 1, failure: 1, error: 0 });
  });

  test('the schedule\'s interval and next tick come from the cron expression once started', async () => {
    const loop = new SchedulerLoop(partsWith(async () => outcome([], Date.now())), '0 */2 * * *', silent);
    assert.equal(loop.scheduleInterval(), null, 'not started');
    loop.start();
    try {
      assert.equal(loop.scheduleInterval(), 2 * 3_600_000);
      const next = loop.nextCycleAt()!;
      assert.ok(next > Date.now() && next <= Date.now() + 2 * 3_600_000);
      assert.equal(new Date(next).getMinutes(), 0);
    } finally {
      await loop.stop(1000);
    }
    assert.equal(loop.nextCycleAt(), null, 'no next cycle once stopping');
  });
});

describe('the level of each event the loop logs', () => {
  /** A logger that keeps each record as pino writes it (levels as words, as the CLI's loggers write them). */
  function capturing() {
    const records: Array<{ level: string; msg: string; [key: string]: unknown }> = [];
    const logger = pino({ formatters: { level: (label) => ({ level: label }) } }, { write: (line: string) => void records.push(JSON.parse(line)) });
    return { logger, records };
  }
  const fleetOf = (at: number, states: Record<string, UserState>): FleetSnapshot => ({
    ...fleet(at),
    classification: { coverage: 'complete', users: Object.entries(states).map(([userid, state]) => userStatus(userid, state, 1000, at)) },
  });

  test('a cycle: info when every attempt succeeded, a warning when its due work was not done, an error when it could not run', async () => {
    const { logger, records } = capturing();
    let results: Array<Pick<BackupResult, 'outcome'>> = [{ outcome: 'ok' }];
    let fail = false;
    const loop = new SchedulerLoop(
      partsWith(async () => {
        if (fail) throw new Error('backups.db: CRC mismatch');
        return outcome(results, NOW);
      }),
      '*/10 * * * *',
      logger,
      () => NOW,
    );
    await loop.tick('start');
    results = [{ outcome: 'ok' }, { outcome: 'no' }];
    await loop.tick('schedule');
    fail = true;
    await loop.tick('schedule');
    assert.deepEqual(
      records.filter((r) => r.msg !== 'cycle start').map((r) => [r.msg, r.level]),
      [['cycle end', 'info'], ['cycle end', 'warn'], ['cycle failed', 'error']],
    );
  });

  test('users who turn failing or unreadable are errors, once per turn; other states are not logged', async () => {
    const { logger, records } = capturing();
    const looks: Array<Record<string, UserState>> = [
      { anne: 'fresh', bob: 'failing', carol: 'missing' },
      { anne: 'failing', bob: 'failing', carol: 'unreadable', dave: 'stale' },
      { anne: 'failing', bob: 'fresh', carol: 'unreadable', dave: 'failing' },
    ];
    const loop = new SchedulerLoop(
      partsWith(async (options) => {
        for (const [i, states] of looks.entries()) options.onFleet!(fleetOf(NOW + i, states));
        return outcome([], NOW + 2);
      }),
      '*/10 * * * *',
      logger,
      () => NOW,
    );
    await loop.tick('start');
    const turned = records.filter((r) => r.msg.startsWith('users turned'));
    assert.deepEqual(
      turned.map((r) => [r.msg, r.level, r.first]),
      [
        ['users turned failing', 'error', ['bob']],
        ['users turned failing', 'error', ['anne']],
        ['users turned unreadable', 'error', ['carol']],
        ['users turned failing', 'error', ['dave']],
      ],
      'at start, who is failing already; then each turn once',
    );
  });

  test('an attempt: a failure is a warning; a success or a locked mailbox (waited out, no failure) is info', () => {
    const cases: Array<[Pick<BackupResult, 'outcome' | 'locked'>, 'info' | 'warn']> = [
      [{ outcome: 'ok', locked: false }, 'info'],
      [{ outcome: 'no', locked: true }, 'info'],
      [{ outcome: 'no', locked: false }, 'warn'],
      [{ outcome: 'unverified', locked: false }, 'warn'],
      [{ outcome: 'error', locked: false }, 'warn'],
    ];
    for (const [result, level] of cases) assert.equal(attemptLogLevel(result), level, JSON.stringify(result));
  });
});
