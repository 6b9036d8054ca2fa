import { ALL_USERS, type BackupResult } from '../../scheduler/backup-result.js';
import type { ForceBackupTarget } from '../../scheduler/force-backup.js';

/** `OK anne 0.4s`, `NO bob: Mailbox is locked`: one line per user, printed as each one finishes. */
export function backupResultLine(r: BackupResult): string {
  const label = { ok: 'OK', no: 'NO', unverified: 'UNVERIFIED', error: 'ERROR' }[r.outcome];
  const where = r.server === '-' ? '' : ` (${r.server})`;
  if (r.outcome === 'ok') return `${label} ${r.userid} ${r.seconds.toFixed(1)}s${where}\n`;
  const doubt = r.inDoubt ? ' [in doubt: the server may still be backing it up]' : '';
  // A whole server that could not be asked is about no one user.
  const who = r.userid === ALL_USERS ? '' : ` ${r.userid}`;
  return `${label}${who}${where}: ${r.error}${doubt}\n`;
}

/** The stable JSON line of spec §3.1. */
export function backupResultJson(r: BackupResult): string {
  return `${JSON.stringify({ userid: r.userid, server: r.server, outcome: r.outcome, seconds: Math.round(r.seconds * 1000) / 1000, error: r.error, group: r.group })}\n`;
}

export function backupSummaryJson(ok: number, failed: number): string {
  return `${JSON.stringify({ summary: { ok, failed } })}\n`;
}

/** `backup`'s closing line. */
export function backupSummary(ok: number, failed: number, json: boolean): string {
  return json ? backupSummaryJson(ok, failed) : `${ok} ok, ${failed} failed\n`;
}

/** `backup --dry-run`: who would be backed up, and on which server. */
export function forcedBackupDryRun(targets: readonly ForceBackupTarget[], json: boolean): string {
  if (json) return targets.map((t) => `${JSON.stringify({ userid: t.userid, server: t.server, dryRun: true })}\n`).join('');
  return `${targets.map((t) => `would back up ${t.userid} on ${t.server}\n`).join('')}${targets.length} users would be backed up\n`;
}
