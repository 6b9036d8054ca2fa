import type { StalenessReport } from '../../staleness/report.js';
import { formatBytes } from '../../units/size.js';

/** The fleet's total of what is not yet in the backups, as one sentence (the table's summary, the status page). */
export function fleetBehindSentence(report: Pick<StalenessReport, 'behind' | 'compared'>): string {
  const { behind, compared } = report;
  if (compared === 0) return 'no user compared with its mailboxes (ages only)';
  if (behind.users === 0) return `all ${compared} users compared are in sync with their mailboxes`;
  if (behind.messages === 0) return `${behind.users} of ${compared} users compared have changes not yet in the backup (flags, expunges or folders; no new message)`;
  const size = behind.bytes === null || behind.bytes === 0 ? '' : ` (${formatBytes(behind.bytes)})`;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(behind.messages, 'message')}${size} in ${plural(behind.users, 'user')} not yet in the backup`;
}
