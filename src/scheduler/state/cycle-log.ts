import { CYCLE_RESULTS, type CycleResult } from '../cycle-result.js';
import type { StateDb } from './open-state-db.js';
import { stateWrite } from './state-write-error.js';

/** How many cycles ended with each result, and when the last of each ended (ms); kept across restarts. */
export interface CycleTotals {
  counts: Record<CycleResult, number>;
  lastAt: Record<CycleResult, number | null>;
}

/** The cycles' results in the state database: what /metrics and /healthz must not lose at a restart. */
export class CycleLog {
  constructor(private readonly db: StateDb) {}

  record(result: CycleResult, endedAt: number): void {
    stateWrite(this.db, () =>
      this.db
        .prepare('INSERT INTO cycle_result (result, cycles, last_at) VALUES (?, 1, ?) ON CONFLICT (result) DO UPDATE SET cycles = cycles + 1, last_at = max(last_at, excluded.last_at)')
        .run(result, endedAt),
    );
  }

  totals(): CycleTotals {
    const rows = this.db.prepare('SELECT result, cycles, last_at FROM cycle_result').all() as Array<{ result: CycleResult; cycles: number; last_at: number }>;
    const totals: CycleTotals = {
      counts: Object.fromEntries(CYCLE_RESULTS.map((r) => [r, 0])) as Record<CycleResult, number>,
      lastAt: Object.fromEntries(CYCLE_RESULTS.map((r) => [r, null])) as Record<CycleResult, number | null>,
    };
    for (const row of rows) {
      totals.counts[row.result] = row.cycles;
      totals.lastAt[row.result] = row.last_at;
    }
    return totals;
  }
}
