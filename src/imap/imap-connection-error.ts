export type ConnectionProblem = 'unreachable' | 'tls' | 'login' | 'timeout' | 'dropped' | 'protocol' | 'limit';

const ADVICE: Record<ConnectionProblem, string> = {
  unreachable: 'check servers[].host and port, and that imapd listens there',
  tls: 'the certificate could not be verified: give the CA with servers[].tlsCaFile, fix the certificate, or (for this host only) set tlsVerify: false',
  login: 'check servers[].user and its password, and that the user may log in (sasl); it must also be listed in the IMAP server\'s `admins:`',
  timeout: 'the server did not answer in time; it may be overloaded or a firewall drops packets, or (no greeting) the port speaks TLS while servers[].tls says otherwise',
  dropped: 'the connection closed unexpectedly; see the IMAP server\'s syslog (imapd may have crashed)',
  protocol: 'the server answered something that is not IMAP',
  limit: 'no Cyrus server answers with that much (the limits are far above what one of 100,000 users with 20 folders each sends); the connection was closed: check what answers at servers[].host and port',
};

/** The IMAP server could not be reached, logged in to, or kept talking. Never carries the password. */
export class ImapConnectionError extends Error {
  override readonly name = 'ImapConnectionError';
  constructor(
    readonly server: string,
    readonly problem: ConnectionProblem,
    detail: string,
  ) {
    super(`${server}: ${detail} (${ADVICE[problem]})`);
  }
}
