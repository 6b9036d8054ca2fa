import type { BackupsDbReader } from '../backupd/backups-listing.js';
import { userOutcomes } from '../imap/user-outcome.js';
import type { XbackupRun } from '../imap/xbackup.js';
import type { BackupResult, ChunkMark } from './backup-result.js';
import { verifyBackups } from './verify-backups.js';

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
    const base = { userid: o.userid, server: run.server, startedAt: run.startedAt, seconds: (o.at - run.startedAt) / 1000, group, chunks };
    if (o.outcome === 'ok' && !v.verified) {
      return { ...base, outcome: 'unverified', error: `${run.server}: XBACKUP said OK for ${o.userid}, but ${v.reason}`, inDoubt: false, locked: false, verifiedBackupAt: null };
    }
    // backupd stamps chunks with this machine's clock: a verified chunk dated later than now is not believed either.
    const verifiedBackupAt = o.outcome === 'ok' && v.after?.lastBackup != null ? Math.min(v.after.lastBackup, run.endedAt) : null;
    return { ...base, outcome: o.outcome, error: o.error, inDoubt: o.inDoubt, locked: o.locked, verifiedBackupAt };
  });
}
