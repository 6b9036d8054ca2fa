import { ageBuckets } from '../../staleness/age-buckets.js';
import type { StalenessReport } from '../../staleness/report.js';
import { USER_STATES } from '../../staleness/user-state.js';
import { formatAge } from '../../units/duration.js';
import { formatBytes } from '../../units/size.js';
import type { UserStatus } from '../../staleness/classify.js';
import { fleetBehindSentence } from './fleet-behind.js';
import { deepVerifyCell, fleetDeepVerifySentence } from './fleet-deep-verify.js';
import { plural } from '../../text/plural.js';

const HEADERS = ['USER', 'STATE', 'SERVER', 'AGE', 'LAST BACKUP', 'BEHIND', 'SIZE', 'CHUNKS', 'DEEP VERIFY', 'LAST ATTEMPT', 'NOTE'];

/** Local time to the minute: what a person compares with their wall clock. */
function localTime(ms: number | null): string {
  if (ms === null) return '-';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function writeReportTable(report: StalenessReport): string {
  const rows = report.users.map((u) => [
    u.userid,
    u.state,
    u.server ?? '-',
    u.age === null && u.state === 'stale' ? 'unknown' : formatAge(u.age),
    localTime(u.lastBackup ?? u.lastVerified),
    behindCell(u),
    formatBytes(u.dataBytes ?? u.mailBytes),
    u.chunks === null ? '-' : String(u.chunks),
    deepVerifyCell(u.lastDeepVerify, u.dataFile !== null, report.generatedAt),
    u.lastAttempt ? `${u.lastAttempt.outcome} ${formatAge(report.generatedAt - u.lastAttempt.startedAt)} ago` : '-',
    [u.inDoubt ? 'in doubt: the server may still be backing it up' : '', u.error ?? ''].filter(Boolean).join('; '),
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(HEADERS), ...rows.map(line)];
  if (report.users.length < report.totalUsers) out.push(`(${report.users.length} of ${plural(report.totalUsers, 'user')} shown)`);
  out.push('', summaryLine(report));
  for (const note of report.notes) out.push(`note: ${note}`);
  out.push('', ...ageHistogram(report));
  return `${out.join('\n')}\n`;
}

/** What the backup lacks of the live mailboxes: `in sync`, `3 msgs, 2 mbox`, or `-` when not compared. */
function behindCell(u: UserStatus): string {
  if (u.comparedAt === null) return '-';
  if (u.behind === null) return 'in sync';
  return `${plural(u.behind.messages, 'msg')}, ${u.behind.mailboxes} mbox`;
}

/** The counts per state, and the deep verification's figures when there are any (damaged among them, not among the counts). */
export function summaryLine(report: StalenessReport): string {
  const counts = USER_STATES.filter((s) => s !== 'damaged').map((s) => `${report.counts[s]} ${s}`).join(', ');
  const oldest = report.oldest ? `; oldest ${formatAge(report.oldest.age)} (${report.oldest.userid})` : '';
  const deep = fleetDeepVerifySentence(report);
  return `${plural(report.totalUsers, 'user')}: ${counts} (max age ${formatAge(report.maxAge)}${oldest}); ${fleetBehindSentence(report)}${deep ? `; ${deep}` : ''}`;
}

/** The age buckets as bars of `#`. */
function ageHistogram(report: StalenessReport): string[] {
  const buckets = ageBuckets(report);
  const most = Math.max(1, ...buckets.map((b) => b.users));
  const labelWidth = Math.max(...buckets.map((b) => b.label.length));
  return [
    `backup ages (stale from ${formatAge(report.maxAge)}):`,
    ...buckets.map(({ label, users, stale }) => {
      const bar = '#'.repeat(Math.ceil((users / most) * 30));
      return `  ${label.padEnd(labelWidth)}  ${String(users).padStart(5)} ${bar}${stale ? '  (stale)' : ''}`.trimEnd();
    }),
  ];
}
