import type { StalenessReport } from '../../staleness/report.js';
import { formatAge } from '../../units/duration.js';
import { plural } from '../../text/plural.js';

/**
 * How recently Cyrus's deep verification went over the backups, as one sentence (the table's summary, the
 * status page), or null while no backup was ever deep-verified and none is damaged: a deployment without
 * maintenance is not told about it on every report.
 */
export function fleetDeepVerifySentence(report: Pick<StalenessReport, 'deepVerify' | 'counts'>): string | null {
  const { deepVerify: d, counts } = report;
  const verifiedEver = d.backups - d.never;
  if (verifiedEver === 0 && counts.damaged === 0) return null;
  return `deep-verified within ${formatAge(d.recentMs)}: ${d.recent} of ${plural(d.backups, 'backup')}; ${counts.damaged} damaged`;
}

/** A user's last deep verification, as a table cell: `3d 4h ago`, `never` (a backup never verified), `-` (no backup). */
export function deepVerifyCell(lastDeepVerify: number | null, hasBackup: boolean, now: number): string {
  if (lastDeepVerify !== null) return `${formatAge(now - lastDeepVerify)} ago`;
  return hasBackup ? 'never' : '-';
}
