/** One entry of `ctl_backups -j list`. */
export interface CtlBackupsEntry {
  userid: string;
  /** ms since the epoch; null for a backup with no chunk (`[unknown]`). */
  timestamp: number | null;
  compressed: number;
  fname: string;
}

/**
 * `ctl_backups -j list` prints a series of separate pretty-printed JSON objects, and its timestamp
 * is the server's local time without a zone.
 */
export function parseCtlBackupsJsonList(stdout: string): CtlBackupsEntry[] {
  const trimmed = stdout.trim();
  if (trimmed === '') return [];
  const objects = JSON.parse(`[${trimmed.replace(/}\s*{/g, '},{')}]`) as Array<{ timestamp: string; compressed: number; userid: string; fname: string }>;
  return objects.map((o) => ({ userid: o.userid, compressed: o.compressed, fname: o.fname, timestamp: parseLocalTimestamp(o.timestamp) }));
}

function parseLocalTimestamp(text: string): number | null {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, s).getTime();
}
