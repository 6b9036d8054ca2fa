import type { BackupsDbReader } from '../backupd/backups-listing.js';
import { userOutcomes } from '../imap/user-outcome.js';
import type { XbackupRun } from '../imap/xbackup.js';
import type { BackupResult } from './backup-result.js';
import { verifyBackups } from './verify-backups.js';

/**
 * Each requested user's result of one XBACKUP: judged by its own untagged line, and an OK only
 * counts once the index shows a chunk that ended after the command began.
 */
export async function verifiedResults(
  run: XbackupRun,
  userids: readonly string[],
  backupsDb: BackupsDbReader,
  group: number | null,
): Promise<BackupResult[]> {
  const outcomes = userOutcomes(run, userids);
  const ok = outcomes.filter((o) => o.outcome === 'ok').map((o) => o.userid);
  const verified = new Map((await verifyBackups(backupsDb, ok, run.startedAt)).map((v) => [v.userid, v]));
  return outcomes.map((o): BackupResult => {
    const v = verified.get(o.userid);
    const base = { userid: o.userid, server: run.server, startedAt: run.startedAt, seconds: (o.at - run.startedAt) / 1000, group };
    if (o.outcome === 'ok' && v && !v.verified) {
      return { ...base, outcome: 'unverified', error: `${run.server}: XBACKUP said OK for ${o.userid}, but ${v.reason}`, inDoubt: false, locked: false, verifiedBackupAt: null };
    }
    return { ...base, outcome: o.outcome, error: o.error, inDoubt: o.inDoubt, locked: o.locked, verifiedBackupAt: v?.lastBackup ?? null };
  });
}
