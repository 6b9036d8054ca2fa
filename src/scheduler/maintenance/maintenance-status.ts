import type { MaintenanceRunRow, MaintenanceRunVerb } from '../state/maintenance-log.js';
import type { MaintenanceReason } from './maintenance-queue.js';

/** What the maintenance lane shows of itself (status page, /metrics, `plan`); null where maintenance is off. */
export interface MaintenanceStatus {
  /** maintenance.window as written; null: at any time. */
  window: string | null;
  open: boolean;
  /** Closed: when it opens next (ms). */
  opensAt: number | null;
  /** When the current (or next) opening ends (ms). */
  closesAt: number | null;
  /** The runs under way now. */
  running: Array<{ userid: string; verb: MaintenanceRunVerb; reason: MaintenanceReason; since: number }>;
  /** Due now, by reason (the queue as last computed), and this opening's share of rolling verifications. */
  due: Record<MaintenanceReason, number>;
  share: number;
  rollingUsed: number;
  /** Due for verification beyond this opening's share. */
  deferred: number;
  /** The newest runs first (at most 10). */
  recent: MaintenanceRunRow[];
  /** Runs by verb and outcome, over every run on this state database. */
  totals: Array<{ verb: MaintenanceRunVerb; outcome: string; runs: number }>;
  /** Why ctl_backups itself could not run (the command prefix, permissions), when its last run could not; null otherwise. */
  toolProblem: string | null;
}
