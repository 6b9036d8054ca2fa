import type { BackupsDbReader } from '../backupd/backups-listing.js';
import { unrequestedUserLines, userOutcomes } from '../imap/user-outcome.js';
import { OTHER_LINES_KEPT, type XbackupRun } from '../imap/xbackup.js';
import { FUTURE_TOLERANCE_MS } from '../staleness/backup-evidence.js';
import { NO_CHUNK, type BackupResult, type ChunkMark } from './backup-result.js';
import { readChunkMarks, verifyBackups } from './verify-backups.js';

/**
 * Each requested user's result of one XBACKUP: judged by its own untagged line, and an OK only counts
 * once the index shows a chunk that did not exist before the command. Every user's index is read after
 * the command, failed ones too: a failed attempt may have left part of a backup behind.
 */
export async function verifiedResults(
  run: XbackupRun,
  userids: readonly string[],
  before: ReadonlyMap<string, ChunkMark>,
  backupsDb: BackupsDbReader,
  group: number | null,
): Promise<BackupResult[]> {
  const outcomes = userOutcomes(run, userids);
  const saidOk = new Set(outcomes.filter((o) => o.outcome === 'ok').map((o) => o.userid));
  const verified = new Map((await verifyBackups(backupsDb, userids, before, saidOk)).map((v) => [v.userid, v]));
  return outcomes.map((o): BackupResult => {
    const v = verified.get(o.userid)!;
    const chunks = { before: before.get(o.userid)!, after: v.after };
    const base = { userid: o.userid, server: run.server, startedAt: run.startedAt, seconds: (o.at - run.startedAt) / 1000, group, chunks, pattern: run.pattern };
    if (o.outcome === 'ok' && !v.verified) {
      return { ...base, outcome: 'unverified', error: `${run.server}: XBACKUP said OK for ${o.userid}, but ${v.reason}`, inDoubt: false, connectionDropped: false, locked: false, verifiedBackupAt: null };
    }
    // backupd stamps chunks with this machine's clock: a verified chunk dated later than now is not believed either.
    const verifiedBackupAt = o.outcome === 'ok' && v.after?.lastBackup != null ? Math.min(v.after.lastBackup, run.endedAt) : null;
    return { ...base, outcome: o.outcome, error: o.error, inDoubt: o.inDoubt, connectionDropped: o.connectionDropped, locked: o.locked, verifiedBackupAt };
  });
}

/**
 * Users the server reported OK or NO for that the command did not ask for: a wildcard reached someone
 * created after it was checked. Recorded as they happened, judged only as far as nothing was read before:
 * `ok` needs a chunk in their index that ended after the command began and is not dated in the future.
 * Only the first OTHER_LINES_KEPT such lines are kept (see runXbackup); their errors say how many more came.
 */
export async function sweptResults(run: XbackupRun, requested: readonly string[], startedAt: number, backupsDb: BackupsDbReader, group: number | null): Promise<BackupResult[]> {
  const lines = unrequestedUserLines(run, requested);
  if (lines.length === 0) return [];
  const marks = await readChunkMarks(backupsDb, lines.map((l) => l.userid));
  const sinceSecond = Math.floor(startedAt / 1000) * 1000;
  const unkept = run.unkeptLines > 0 ? `; ${run.unkeptLines.toLocaleString('en-US')} more such lines were not kept (at most ${OTHER_LINES_KEPT.toLocaleString('en-US')} are)` : '';
  return lines.map((line): BackupResult => {
    const after = marks.get(line.userid)!;
    const dated = after.lastBackup !== null && after.lastBackup >= sinceSecond && after.lastBackup <= run.endedAt + FUTURE_TOLERANCE_MS;
    const outcome = !line.ok ? 'no' : dated ? 'ok' : 'unverified';
    const why = `${run.server}: reported by XBACKUP ${run.pattern} though not asked for (created since the wildcard was checked?)${unkept}`;
    return {
      userid: line.userid,
      server: run.server,
      outcome,
      startedAt: run.startedAt,
      seconds: (line.at - run.startedAt) / 1000,
      error: line.ok ? (dated ? why : `${why}; no chunk in its index ended after the command began`) : `${line.error}; ${why}`,
      inDoubt: false,
      connectionDropped: false,
      locked: false,
      group,
      verifiedBackupAt: null,
      chunks: { before: NO_CHUNK, after },
      pattern: run.pattern,
    };
  });
}
