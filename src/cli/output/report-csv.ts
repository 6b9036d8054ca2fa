import type { StalenessReport } from '../../staleness/report.js';
import { isoOrNull } from '../../staleness/human-units.js';

const COLUMNS = ['userid', 'state', 'server', 'lastBackup', 'lastVerified', 'ageSeconds', 'dataBytes', 'chunks', 'dataFile', 'lastAttemptAt', 'lastAttemptOutcome', 'error'];

/** RFC 4180: a field with a comma, quote or line break is quoted, and quotes doubled. */
function field(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
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
      u.error,
    ]
      .map(field)
      .join(','),
  );
  return [COLUMNS.join(','), ...rows].map((r) => `${r}\r\n`).join('');
}
