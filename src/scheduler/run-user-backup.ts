import type { BackupsDbReader } from '../backupd/backups-listing.js';
import type { AdminSession } from '../imap/admin-session.js';
import { useridToMailbox } from '../imap/mailbox-names.js';
import { runXbackup } from '../imap/xbackup.js';
import type { BackupResult } from './backup-result.js';
import { verifiedResults } from './verified-results.js';
import { readChunkMarks } from './verify-backups.js';

/** Backs up one user with its own XBACKUP on a session the caller holds, and checks the index grew (`check --canary`). */
export async function runUserBackup(
  session: AdminSession,
  backupsDb: BackupsDbReader,
  userid: string,
): Promise<BackupResult> {
  const server = session.server;
  const before = await readChunkMarks(backupsDb, [userid]);
  const run = await runXbackup(session, useridToMailbox(userid, session.naming), server.channel, { timeoutMs: server.commandTimeout, requested: [userid] });
  const [result] = await verifiedResults(run, [userid], before, backupsDb, null);
  return result!;
}
