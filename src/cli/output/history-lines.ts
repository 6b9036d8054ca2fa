import type { AttemptRecord } from '../../scheduler/state/attempt-log.js';
import { formatAge } from '../../units/duration.js';
import { isoOrNull } from '../../units/time.js';

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

/** What `history` says when there is nothing to show (nothing in JSON, where no lines is the answer). */
export function noHistoryLine(reason: { stateFile: string } | { userid: string | undefined }): string {
  if ('stateFile' in reason) return `no history yet: ${reason.stateFile} does not exist (the scheduler has not run)\n`;
  return reason.userid ? `no attempts for ${reason.userid}\n` : 'no attempts yet\n';
}
