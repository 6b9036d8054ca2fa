// What one `ctl_backups verify` of one backup says about it: the one rule from a run's output to a verdict.
import { formatAge } from '../../units/duration.js';
import type { CyrusToolRun } from './cyrus-tool.js';

export type VerifyVerdict =
  /** Cyrus found the backup whole. */
  | { kind: 'whole' }
  /** Cyrus found it wrong, or never finished (a finding too), in its own words where it gave any. */
  | { kind: 'damaged'; damage: string }
  /** Not verified this time, through no fault of the backup: locked by backupd, or cut short by a stop. Tried again later. */
  | { kind: 'not-now'; why: string }
  /** backups.db has no backup for the user (any more). */
  | { kind: 'gone' }
  /** ctl_backups itself could not do its work (the command prefix, permissions, a config): no verdict on any backup. */
  | { kind: 'tool-failed'; problem: string };

/** The verdict of a run that verified `userid`'s backup alone (Cyrus's reasons on stderr name no backup). */
export function verifyVerdict(run: CyrusToolRun, userid: string, timeoutMs: number): VerifyVerdict {
  if (run.cutShort) return { kind: 'not-now', why: 'cut short: the scheduler was stopping' };
  if (run.timedOut) {
    return {
      kind: 'damaged',
      damage:
        `verify did not end within maintenance.timeout (${formatAge(timeoutMs)}) and was killed: Cyrus's verify loops forever on a chunk whose compressed data is damaged ` +
        '(docs/cyrus-facts-maintenance.md); if this backup is merely that large, raise maintenance.timeout',
    };
  }
  const outcome = run.outcomes.find((o) => o.userid === userid);
  switch (outcome?.status) {
    case 'ok':
      return { kind: 'whole' };
    case 'failed':
      // Its detail holds stderr too: Cyrus's account of the damage, which names no backup, is this one's.
      return { kind: 'damaged', damage: outcome.detail || 'verify failed, without a reason' };
    case 'locked':
      return { kind: 'not-now', why: 'locked: backupd (or another ctl_backups) was working on this backup' };
    case 'skipped':
      return { kind: 'not-now', why: 'skipped by ctl_backups' };
    case 'not-found':
      return { kind: 'gone' };
    default:
      return { kind: 'tool-failed', problem: run.problem ?? `ctl_backups gave no answer for this backup${run.stderr ? `: ${run.stderr}` : ''}` };
  }
}
