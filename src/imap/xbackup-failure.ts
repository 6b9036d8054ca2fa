/** Why a whole XBACKUP command failed (as opposed to one user in it). */
export type XbackupFailureKind =
  | 'disabled'
  | 'removed'
  | 'not-admin'
  | 'no-such-mailbox'
  | 'backupd-unreachable'
  | 'locked'
  | 'bad-arguments'
  | 'connection-dropped'
  | 'timeout'
  | 'response-limit'
  | 'failed';

/** What `check` says too, before any XBACKUP is sent, when the server announces such a release. */
export const XBACKUP_REMOVED_ADVICE =
  'Cyrus 3.12 removed XBACKUP and backupd: this server cannot be backed up this way. Keep it on 3.10 (the last release with XBACKUP) until its backups move elsewhere, or take it out of servers[]; the scheduler pauses it and asks it again only after a growing backoff (retry.baseDelay to retry.maxDelay)';

const ADVICE: Record<XbackupFailureKind, string | ((server: string, channel: string) => string)> = {
  disabled: 'XBACKUP is disabled on this server: set `xbackup_enabled: yes` in its imapd.conf and restart its master',
  removed: XBACKUP_REMOVED_ADVICE,
  'not-admin': 'the login user is not an IMAP admin: add it to `admins:` in the server\'s imapd.conf',
  'no-such-mailbox': 'the pattern matched no user on this server',
  'backupd-unreachable':
    'the IMAP server could not reach backupd or its sync login was refused: check <channel>_sync_host, _sync_port, _sync_authname, _sync_password on the IMAP server, and that backupd runs and lists the authname in its `admins:`',
  locked: 'another backup of this user is running (another XBACKUP, or ctl_backups on the backup server); it is retried later',
  'bad-arguments': 'the server refused the command\'s arguments',
  'connection-dropped': (server, channel) =>
    `the IMAP connection closed in the middle of XBACKUP: when this repeats, channel ${channel} is probably not configured on ${server} (imapd crashes then); the users not yet reported may still be backed up by the server`,
  timeout: 'the server may still be backing these users up',
  'response-limit':
    'no Cyrus server answers XBACKUP with that much; the connection was closed, and the users not yet reported may still be backed up by the server: check what answers at servers[].host and port',
  failed: 'see the server\'s answer',
};

export class XbackupFailure extends Error {
  override readonly name = 'XbackupFailure';
  constructor(
    readonly kind: XbackupFailureKind,
    readonly server: string,
    readonly pattern: string,
    readonly channel: string,
    /** What the server said, or what happened to the connection. */
    readonly detail: string,
  ) {
    const advice = ADVICE[kind];
    super(`${server}: XBACKUP ${pattern} ${channel}: ${detail} (${typeof advice === 'string' ? advice : advice(server, channel)})`);
  }
}
