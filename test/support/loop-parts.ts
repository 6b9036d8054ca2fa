// What a SchedulerLoop needs of the scheduler's parts in a unit test: a cycle and the cycle log.
import type { CycleOptions, CycleOutcome } from '../../src/scheduler/cycle.js';
import type { CycleResult } from '../../src/scheduler/cycle-result.js';
import type { SchedulerParts } from '../../src/scheduler/open-scheduler.js';
import type { CycleLog } from '../../src/scheduler/state/cycle-log.js';

/** The state database's cycle log, in memory: what one run leaves for the next. */
export function memoryCycleLog(): CycleLog {
  const rows = new Map<CycleResult, { cycles: number; lastAt: number }>();
  return {
    record(result: CycleResult, endedAt: number) {
      const row = rows.get(result);
      rows.set(result, { cycles: (row?.cycles ?? 0) + 1, lastAt: Math.max(row?.lastAt ?? 0, endedAt) });
    },
    totals() {
      return {
        counts: { success: rows.get('success')?.cycles ?? 0, failure: rows.get('failure')?.cycles ?? 0, error: rows.get('error')?.cycles ?? 0 },
        lastAt: { success: rows.get('success')?.lastAt ?? null, failure: rows.get('failure')?.lastAt ?? null, error: rows.get('error')?.lastAt ?? null },
      };
    },
  } as CycleLog;
}

/** Parts whose only pieces are the cycle and its log: the loop needs nothing else. */
export function partsWith(cycle: (options: CycleOptions) => Promise<CycleOutcome>, cycles: CycleLog = memoryCycleLog()): SchedulerParts {
  return { cycle: { run: cycle }, cycles } as unknown as SchedulerParts;
}
