// How a log line reaches journald with its priority. systemd connects a unit's stdout/stderr to the journal
// and sets JOURNAL_STREAM to that stream's `<device>:<inode>` (decimal; systemd.exec(5)); journald reads a
// `<N>` syslog priority at the start of each line (sd-daemon(3); SyslogLevelPrefix=yes, the default) and
// strips it, so `journalctl -p warning` finds the warnings. Elsewhere, lines stay as they are.
import { fstatSync } from 'node:fs';

/**
 * Whether file descriptor `fd` is the journal stream `journalStream` names. A child whose output was
 * redirected (to a file, a pipe) inherits the variable but not the stream: hence the comparison.
 */
export function isJournalStream(fd: number, journalStream: string | undefined): boolean {
  const match = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (!match) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev === BigInt(match[1]!) && stat.ino === BigInt(match[2]!);
  } catch {
    return false;
  }
}

/**
 * The sd-daemon prefix for a pino level: trace and debug → 7 (debug), info → 6, warn → 4 (warning),
 * error → 3 (err), fatal → 2 (crit).
 */
export function journalPrefix(pinoLevel: number): string {
  const priority = pinoLevel >= 60 ? 2 : pinoLevel >= 50 ? 3 : pinoLevel >= 40 ? 4 : pinoLevel >= 30 ? 6 : 7;
  return `<${priority}>`;
}
