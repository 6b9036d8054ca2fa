import type { MaintenanceStatus } from '../../src/scheduler/maintenance/maintenance-status.js';
import { H, NOW } from './fake-run-view.js';

/** A maintenance lane mid-opening: the window 01:00-05:00 open, one verify running, three runs done, one tool problem unless told otherwise. */
export function sampleMaintenance(overrides: Partial<MaintenanceStatus> = {}): MaintenanceStatus {
  return {
    window: '01:00-05:00',
    open: true,
    opensAt: null,
    closesAt: NOW + 2 * H,
    running: [{ userid: 'anne', verb: 'verify', reason: 'rolling', since: NOW - 60_000 }],
    due: { recheck: 1, compact: 2, rolling: 40 },
    share: 34,
    rollingUsed: 12,
    deferred: 6,
    recent: [
      { id: 3, userid: 'bob', verb: 'verify', why: 'rolling', startedAt: NOW - 10 * 60_000, endedAt: NOW - 9 * 60_000, chunks: 12, outcome: 'ok', detail: null },
      { id: 2, userid: 'carol', verb: 'verify', why: 'rolling', startedAt: NOW - 20 * 60_000, endedAt: NOW - 19 * 60_000, chunks: 30, outcome: 'damaged', detail: 'chunk 7: checksum mismatch' },
      { id: 1, userid: 'dave', verb: 'compact', why: 'compact', startedAt: NOW - 30 * 60_000, endedAt: NOW - 25 * 60_000, chunks: 140, outcome: 'ok', detail: null },
    ],
    totals: [
      { verb: 'verify', outcome: 'ok', runs: 120 },
      { verb: 'verify', outcome: 'damaged', runs: 1 },
      { verb: 'compact', outcome: 'ok', runs: 9 },
    ],
    toolProblem: null,
    ...overrides,
  };
}
