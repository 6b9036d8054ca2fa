import type { AttemptRecord } from '../../scheduler/state/attempt-log.js';
import type { MaintenanceRunRow } from '../../scheduler/state/maintenance-log.js';
import { formatAge } from '../../units/duration.js';
import { isoOrNull } from '../../units/time.js';
import { maintenanceRunToJson } from './maintenance-json.js';

/** The stable JSON line of spec §3.1. */
export function historyJsonLine(a: AttemptRecord): string {
  return `${JSON.stringify({
    userid: a.userid,
    server: a.server,
    startedAt: new Date(a.startedAt).toISOString(),
    endedAt: isoOrNull(a.endedAt),
    outcome: a.outcome,
    error: a.error,
    group: a.group,
    kind: a.kind,
    pattern: a.pattern,
    inDoubt: a.inDoubt,
  })}\n`;
}

export function historyTextLine(a: AttemptRecord): string {
  const took = a.endedAt !== null ? formatAge(a.endedAt - a.startedAt) : a.outcome === null ? 'running' : 'cut off';
  const group = a.group === null ? '' : ` group ${a.group}`;
  const error = a.error ? `: ${a.error}` : '';
  return `${new Date(a.startedAt).toISOString()}  ${(a.outcome ?? 'running').padEnd(11)} ${a.userid} on ${a.server} (${a.kind}${group}, ${took})${error}\n`;
}

/** `history --maintenance --json`: one line per ctl_backups run of the maintenance lane. */
export function maintenanceJsonLine(r: MaintenanceRunRow): string {
  return `${JSON.stringify(maintenanceRunToJson(r))}\n`;
}

/** `2026-12-07T01:02:03.000Z  damaged     rot: verify (rolling, 61 chunks, 2s): <what ctl_backups said>` */
export function maintenanceTextLine(r: MaintenanceRunRow): string {
  const took = r.endedAt !== null ? formatAge(r.endedAt - r.startedAt) : r.outcome === null ? 'running' : 'cut off';
  const chunks = r.chunks === null ? '' : `, ${r.chunks} chunk${r.chunks === 1 ? '' : 's'}`;
  const detail = r.detail ? `: ${r.detail}` : '';
  return `${new Date(r.startedAt).toISOString()}  ${(r.outcome ?? 'running').padEnd(11)} ${r.userid}: ${r.verb} (${r.why}${chunks}, ${took})${detail}\n`;
}

/** What `history` says when there is nothing to show (nothing in JSON, where no lines is the answer). */
export function noHistoryLine(reason: { stateFile: string } | { userid: string | undefined; maintenance: boolean }): string {
  if ('stateFile' in reason) return `no history yet: ${reason.stateFile} does not exist (the scheduler has not run)\n`;
  const what = reason.maintenance ? 'maintenance runs' : 'attempts';
  return reason.userid ? `no ${what} for ${reason.userid}\n` : `no ${what} yet\n`;
}
