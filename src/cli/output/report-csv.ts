import type { StalenessReport } from '../../staleness/report.js';
import { isoOrNull } from '../../units/time.js';

const COLUMNS = ['userid', 'state', 'server', 'lastBackup', 'lastVerified', 'ageSeconds', 'dataBytes', 'chunks', 'dataFile', 'lastAttemptAt', 'lastAttemptOutcome', 'behindMailboxes', 'behindMessages', 'behindBytes', 'comparedAt', 'lastInSync', 'error', 'lastDeepVerify'];

/**
 * RFC 4180: a field with a comma, quote or line break is quoted, and quotes doubled. Userids and error
 * texts come from IMAP servers, and a spreadsheet runs a cell starting with = + - @, a tab or a CR as a
 * formula: such a text gets a leading `'` and quotes, as OWASP advises against CSV injection. Numbers
 * are ours and stay numbers (an age can be negative).
 */
function field(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return text !== value || /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function writeReportCsv(report: StalenessReport): string {
  const rows = report.users.map((u) =>
    [
      u.userid,
      u.state,
      u.server,
      isoOrNull(u.lastBackup),
      isoOrNull(u.lastVerified),
      u.age === null ? null : Math.floor(u.age / 1000),
      u.dataBytes,
      u.chunks,
      u.dataFile,
      isoOrNull(u.lastAttempt?.startedAt ?? null),
      u.lastAttempt?.outcome ?? null,
      u.behind?.mailboxes ?? (u.comparedAt === null ? null : 0),
      u.behind?.messages ?? (u.comparedAt === null ? null : 0),
      u.behind ? u.behind.bytes : u.comparedAt === null ? null : 0,
      isoOrNull(u.comparedAt),
      isoOrNull(u.lastInSync),
      u.error,
      isoOrNull(u.lastDeepVerify),
    ]
      .map(field)
      .join(','),
  );
  return [COLUMNS.join(','), ...rows].map((r) => `${r}\r\n`).join('');
}
