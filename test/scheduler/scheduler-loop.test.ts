import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import type { CycleOptions, CycleOutcome, FleetSnapshot } from '../../src/scheduler/cycle.js';
import type { SchedulerParts } from '../../src/scheduler/open-scheduler.js';
import { SchedulerLoop } from '../../src/scheduler/scheduler-loop.js';
import type { BackupResult } from '../../src/scheduler/backup-result.js';

const silent = pino({ level: 'silent' });
const NOW = Date.parse('2026-11-23T12:00:00Z');

function fleet(at: number): FleetSnapshot {
  return { at, maxAge: 86_400_000, notes: [], classification: { coverage: 'complete', users: [] } };
}

/** Parts whose only piece is the cycle: the loop needs nothing else. */
function partsWith(cycle: (options: CycleOptions) => Promise<CycleOutcome>): SchedulerParts {
  return { cycle: { run: cycle } } as unknown as SchedulerParts;
}

function outcome(results: Array<Pick<BackupResult, 'outcome'>>, endedAt: number): CycleOutcome {
  return { startedAt: NOW, endedAt, plan: { refreshes: [], firstGroup: null, planned: [], held: [] }, classification: { coverage: 'complete', users: [] }, results: results as BackupResult[], group: null, nextGroupAt: null };
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
        return outcome([{ outcome: 'ok' }, { outcome: 'no' }], NOW + 5);
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
    assert.deepEqual(loop.status.recentCycles, [{ why: 'start', startedAt: NOW, endedAt: NOW + 5, attempted: 2, failed: 1, error: null }]);
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
    assert.deepEqual(loop.status.recentCycles.map((c) => [c.why, c.error]), [['schedule', 'backups.db: CRC mismatch'], ['start', null]]);
    assert.equal(loop.status.cycles, 2);
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
