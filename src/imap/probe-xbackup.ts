import { randomBytes } from 'node:crypto';
import type { AdminSession } from './admin-session.js';
import { useridToMailbox } from './mailbox-names.js';
import { runXbackup } from './xbackup.js';
import type { XbackupFailureKind } from './xbackup-failure.js';

export type XbackupProbe = { ok: true } | { ok: false; kind: XbackupFailureKind; message: string };

/**
 * Asks for an XBACKUP of a user that cannot exist. Enabled and allowed: `NO Mailbox does not exist`,
 * without backupd being contacted and without anyone being backed up. Disabled (or Cyrus ≥ 3.12): BAD.
 * Not an admin: `NO Permission denied`.
 */
export async function probeXbackup(session: AdminSession): Promise<XbackupProbe> {
  const nobody = `xbackup-scheduler-probe-${randomBytes(6).toString('hex')}`;
  // Cyrus answers this at once, without contacting backupd: a short step, not a backup.
  const run = await runXbackup(session, useridToMailbox(nobody, session.naming), session.server.channel, {
    timeoutMs: session.server.stepTimeout,
    timeoutSetting: 'servers[].stepTimeout',
    requested: [],
  });
  if (run.failure?.kind === 'no-such-mailbox') return { ok: true };
  if (run.failure) return { ok: false, kind: run.failure.kind, message: run.failure.message };
  return { ok: false, kind: 'failed', message: `${session.server.name}: XBACKUP of a user that does not exist answered ${run.tagged?.status} ${run.tagged?.text}` };
}
