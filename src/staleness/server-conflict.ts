import { SHARED_BACKUP_KEY } from '../cyrus-names/cyrus-userid.js';

/**
 * A user discovered on more than one server is backed up by none of them: backups.db has one backup per
 * userid, and two servers would write into it in turn. Null when the user is on one server only.
 */
export function serverConflict(userid: string, servers: readonly string[]): string | null {
  if (servers.length < 2) return null;
  const on = servers.join(' and ');
  if (userid === SHARED_BACKUP_KEY) {
    return `shared mailboxes on ${on} would go into one backup, ${SHARED_BACKUP_KEY}: back them up from one server only (servers[].sharedMailboxes: false on the others)`;
  }
  return `found on ${on}: not backed up until it lives on one server only (two servers would fight over one backup)`;
}
