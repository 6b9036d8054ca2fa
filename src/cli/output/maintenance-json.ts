import type { MaintenanceStatus } from '../../scheduler/maintenance/maintenance-status.js';
import type { MaintenanceRunRow } from '../../scheduler/state/maintenance-log.js';
import { isoOrNull, isoTime } from '../../units/time.js';

/** The maintenance lane's status as `/status` and the status page show it: its times as ISO-8601, as the report's. */
export function maintenanceToJson(m: MaintenanceStatus): object {
  return {
    window: m.window,
    open: m.open,
    opensAt: isoOrNull(m.opensAt),
    closesAt: isoOrNull(m.closesAt),
    running: m.running.map((r) => ({ userid: r.userid, verb: r.verb, reason: r.reason, since: isoTime(r.since) })),
    due: m.due,
    share: m.share,
    rollingUsed: m.rollingUsed,
    deferred: m.deferred,
    recent: m.recent.map(maintenanceRunToJson),
    totals: m.totals,
    toolProblem: m.toolProblem,
  };
}

/** One ctl_backups run of the lane (`/status`'s recent runs, `history --maintenance --json`). */
export function maintenanceRunToJson(r: MaintenanceRunRow): object {
  return { userid: r.userid, verb: r.verb, why: r.why, startedAt: isoTime(r.startedAt), endedAt: isoOrNull(r.endedAt), chunks: r.chunks, outcome: r.outcome, detail: r.detail };
}
