import type { BackupServerPaths } from '../config/backup-server.js';
import type { AdminSession } from '../imap/admin-session.js';
import { useridToMailbox } from '../imap/mailbox-names.js';
import { userOutcomes } from '../imap/user-outcome.js';
import { runXbackup } from '../imap/xbackup.js';
import type { BackupResult } from './backup-result.js';
import { verifyBackups } from './verify-backups.js';

/** Backs up one user with its own XBACKUP and checks the index grew: the unit of work of `backup`. */
export async function runUserBackup(
  session: AdminSession,
  paths: Pick<BackupServerPaths, 'backupsDb' | 'backupsDbFormat'>,
  userid: string,
  options: { group?: number | null; now?: () => number } = {},
): Promise<BackupResult> {
  const now = options.now ?? Date.now;
  const server = session.server;
  const run = await runXbackup(session, useridToMailbox(userid, session.naming), server.channel, { timeoutMs: server.commandTimeout, now });
  const [outcome] = userOutcomes(run, [userid]);
  const base = {
    userid,
    server: server.name,
    startedAt: run.startedAt,
    seconds: (outcome!.at - run.startedAt) / 1000,
    inDoubt: outcome!.inDoubt,
    locked: outcome!.locked,
    group: options.group ?? null,
  };
  if (outcome!.outcome !== 'ok') return { ...base, outcome: outcome!.outcome, error: outcome!.error, verifiedBackupAt: null };
  const [verification] = await verifyBackups(paths, [userid], run.startedAt);
  return verification!.verified
    ? { ...base, outcome: 'ok', error: null, verifiedBackupAt: verification!.lastBackup }
    : { ...base, outcome: 'unverified', error: `${server.name}: XBACKUP said OK for ${userid}, but ${verification!.reason}`, verifiedBackupAt: null };
}
