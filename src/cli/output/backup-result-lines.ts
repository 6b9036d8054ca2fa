import { ALL_USERS, type BackupResult } from '../../scheduler/backup-result.js';
import type { ForceBackupTarget, SkippedTarget } from '../../scheduler/force-backup.js';
import { plural } from '../../text/plural.js';

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

/** What a run came to: `skipped` only where users can be left unsent (`backup`, after a server's breaker opened). */
export interface BackupCounts {
  ok: number;
  failed: number;
  skipped?: number;
}

/** spec §3.1's `{"summary": {"ok": N, "failed": N}}`, with `"skipped": N` only when some were. */
export function backupSummaryJson({ ok, failed, skipped }: BackupCounts): string {
  return `${JSON.stringify({ summary: skipped ? { ok, failed, skipped } : { ok, failed } })}\n`;
}

/** `backup`'s closing line. */
export function backupSummary(counts: BackupCounts, json: boolean): string {
  if (json) return backupSummaryJson(counts);
  return `${counts.ok} ok, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}\n`;
}

/** `SKIPPED carl (imap1): not sent: imap1 was paused after …`: a user the run never sent, and why. */
export function skippedLine(s: SkippedTarget): string {
  return `SKIPPED ${s.userid} (${s.server}): ${s.reason}\n`;
}

/** The JSON line of a skipped user: the shape of a result's line, with outcome "skipped". */
export function skippedJson(s: SkippedTarget): string {
  return `${JSON.stringify({ userid: s.userid, server: s.server, outcome: 'skipped', seconds: 0, error: s.reason, group: null })}\n`;
}

/** `backup --dry-run`: who would be backed up, and on which server. */
export function forcedBackupDryRun(targets: readonly ForceBackupTarget[], json: boolean): string {
  if (json) return targets.map((t) => `${JSON.stringify({ userid: t.userid, server: t.server, dryRun: true })}\n`).join('');
  return `${targets.map((t) => `would back up ${t.userid} on ${t.server}\n`).join('')}${plural(targets.length, 'user')} would be backed up\n`;
}
