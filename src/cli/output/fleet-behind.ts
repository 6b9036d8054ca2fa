import type { StalenessReport } from '../../staleness/report.js';
import { formatBytes } from '../../units/size.js';
import { plural } from '../../text/plural.js';

/** The fleet's total of what is not yet in the backups, as one sentence (the table's summary, the status page). */
export function fleetBehindSentence(report: Pick<StalenessReport, 'behind' | 'compared'>): string {
  const { behind, compared } = report;
  if (compared === 0) return 'no user compared with its mailboxes (ages only)';
  if (behind.users === 0) return compared === 1 ? 'the 1 user compared is in sync with its mailboxes' : `all ${compared} users compared are in sync with their mailboxes`;
  if (behind.messages === 0) return `${behind.users} of ${plural(compared, 'user')} compared ${behind.users === 1 ? 'has' : 'have'} changes not yet in the backup (flags, expunges or folders; no new message)`;
  const size = behind.bytes === null || behind.bytes === 0 ? '' : ` (${formatBytes(behind.bytes)})`;
  return `${plural(behind.messages, 'message')}${size} in ${plural(behind.users, 'user')} not yet in the backup`;
}
