import { ImapFlow } from 'imapflow';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { packageVersion, TOOL_NAME } from '../about/package-identity.js';
import type { ServerConfig } from '../config/load.js';
import { parseCyrusVersion, type CyrusVersion } from './cyrus-version.js';
import { ImapConnectionError, type ConnectionProblem } from './imap-connection-error.js';
import { attributeValue, execCommand, pendingCommand, seconds, withDeadline } from './imapflow-exec.js';
import type { MailboxNaming } from './mailbox-names.js';

/**
 * Bounds on one server response. Nothing an admin session reads (greeting, CAPABILITY, ID, one LIST or
 * STATUS line per mailbox, one XBACKUP line per user) comes near them; imapflow's defaults (1 GiB a line,
 * a million tokens) would let a broken or hostile server fill this process's memory on every connection.
 */
const MAX_LINE_BYTES = 1024 * 1024;
const MAX_RESPONSE_BYTES = 2 * MAX_LINE_BYTES; // imapflow wants it above the literal cap
const MAX_RESPONSE_TOKENS = 10_000;

/**
 * What the IMAP ID command says about us, in the server's logs: this tool and its version. imapflow
 * fills in its own version, vendor and support address for any field not given; false leaves one out.
 */
const CLIENT_INFO = { name: TOOL_NAME, version: packageVersion(), vendor: false, 'support-url': false } as const;

export interface AdminSessionOptions {
  logger?: Logger | undefined;
  /** Aborting closes the connection: whoever stops need not wait for the server's answer. */
  signal?: AbortSignal | undefined;
}

/**
 * One logged-in admin connection to one IMAP server. Every step on it has a deadline,
 * servers[].stepTimeout: the login as a whole (connect, TLS, greeting, CAPABILITY, ID, LOGIN, NAMESPACE,
 * the separator's LIST), each short command, the LOGOUT; a LIST of every mailbox may go on as long as
 * lines keep coming (see discover-users.ts). A first XBACKUP of a big mailbox sends no byte for an hour,
 * so during XBACKUP the only limit is servers[].commandTimeout; TCP keepalive (which imapflow enables)
 * notices a peer that is gone.
 */
export class AdminSession {
  private constructor(
    readonly server: ServerConfig,
    readonly client: ImapFlow,
    readonly naming: MailboxNaming,
    readonly version: CyrusVersion | null,
    readonly capabilities: ReadonlySet<string>,
    private readonly connectionErrors: { last?: Error },
    private readonly stopListening: () => void,
  ) {}

  /** What made imapflow close the connection, if it did (a pending command only learns "Connection not available"). */
  get lastConnectionError(): Error | undefined {
    return this.connectionErrors.last;
  }

  static async open(server: ServerConfig, options: AdminSessionOptions = {}): Promise<AdminSession> {
    const { logger, signal } = options;
    if (!server.password) throw new ImapConnectionError(server.name, 'login', server.passwordError ?? 'no password was loaded for this server');
    if (signal?.aborted) throw new ImapConnectionError(server.name, 'dropped', 'not connected: stopping');
    // imapflow's own timers only back ours up: set above servers[].stepTimeout, they never fire first, and ours name the step.
    const backstop = 2 * server.stepTimeout;
    const client = new ImapFlow({
      host: server.host,
      port: server.port,
      secure: server.tls === 'implicit',
      doSTARTTLS: server.tls === 'starttls',
      tls: {
        rejectUnauthorized: server.tlsVerify,
        ...(server.tlsCaFile && { ca: readFileSync(server.tlsCaFile) }),
        ...(isIP(server.host) === 0 && { servername: server.host }),
      },
      auth: {
        user: server.user,
        pass: server.password.reveal(),
        ...(server.authzid && { authzid: server.authzid, loginMethod: 'AUTH=PLAIN' }),
      },
      clientInfo: CLIENT_INFO,
      logger: false,
      disableAutoIdle: true,
      disableCompression: true,
      // No ENABLE: IMAP4rev2 or UTF8=ACCEPT would make Cyrus 3.10 name mailboxes in UTF-8 (as literals) in
      // LIST and STATUS while XBACKUP keeps modified UTF-7, and users beyond ASCII would drop out of discovery.
      disableAutoEnable: true,
      connectionTimeout: backstop,
      greetingTimeout: backstop,
      socketTimeout: backstop,
      maxLineLength: MAX_LINE_BYTES,
      maxLiteralSize: MAX_LINE_BYTES,
      maxResponseSize: MAX_RESPONSE_BYTES,
      maxResponseTokens: MAX_RESPONSE_TOKENS,
    });
    // imapflow reports a lost connection as an 'error' event; the pending command's rejection does not say why, so it is kept.
    const connectionErrors: { last?: Error } = {};
    client.on('error', (err: Error) => {
      connectionErrors.last = err;
      logger?.debug({ server: server.name, err: err.message }, 'IMAP connection error');
    });
    const abort = () => client.close();
    signal?.addEventListener('abort', abort, { once: true });
    const stopListening = () => signal?.removeEventListener('abort', abort);
    let separator: string | undefined;
    try {
      separator = await withDeadline(client, server.stepTimeout, () => loginTimeout(server, client), async () => {
        await client.connect();
        return hierarchySeparator(client, server);
      });
    } catch (err) {
      stopListening();
      client.close();
      throw connectionError(server.name, err);
    }
    if (separator !== '.' && separator !== '/') {
      stopListening();
      await logout(client, server.stepTimeout);
      throw new ImapConnectionError(server.name, 'protocol', `the server announced hierarchy separator ${JSON.stringify(separator)}; Cyrus uses "." or "/"`);
    }
    const version = parseCyrusVersion(client.serverInfo?.version || undefined, client.greeting);
    return new AdminSession(server, client, { separator }, version, new Set(client.capabilities.keys()), connectionErrors, stopListening);
  }

  get usable(): boolean {
    return this.client.usable;
  }

  async close(): Promise<void> {
    this.stopListening();
    if (!this.client.usable) {
      this.client.close();
      return;
    }
    await logout(this.client, this.server.stepTimeout);
  }

  /** Drops the connection at once, a command in flight or not (a LOGOUT would wait behind it). */
  abort(): void {
    this.stopListening();
    this.client.close();
  }
}

/** LOGOUT, or, when it is not answered within `ms` (servers[].stepTimeout), a plain close. */
async function logout(client: ImapFlow, ms: number): Promise<void> {
  await withDeadline(client, ms, () => new Error('LOGOUT unanswered'), () => client.logout()).catch(() => client.close());
}

/** Where the login stood when servers[].stepTimeout ran out. */
function loginTimeout(server: ServerConfig, client: ImapFlow): ImapConnectionError {
  const command = pendingCommand(client);
  const stage = !client.greeting ? 'no greeting' : command ? `greeted, then no answer to ${command}` : 'greeted, then stalled';
  return new ImapConnectionError(server.name, 'timeout', `logging in got no answer within ${seconds(server.stepTimeout)} (servers[].stepTimeout): ${stage}`);
}

/**
 * The separator from `LIST "" ""`, which every server answers. imapflow's own namespace is no help:
 * an admin without an INBOX (common with virtdomains) gets a NIL personal namespace, which imapflow
 * replaces with ".".
 */
async function hierarchySeparator(client: ImapFlow, server: ServerConfig): Promise<string | undefined> {
  let separator: string | undefined;
  const tagged = await execCommand(
    client,
    'LIST',
    [{ type: 'STRING', value: '' }, { type: 'STRING', value: '' }],
    {
      LIST: (u) => {
        const value = attributeValue(u.attributes[1]);
        if (value !== undefined) separator = value;
      },
    },
    { server: server.name, timeoutMs: server.stepTimeout, timeoutSetting: 'servers[].stepTimeout' },
  );
  if (tagged.status !== 'OK') throw new Error(`LIST "" "" answered ${tagged.status} ${tagged.text}`);
  return separator;
}

/** Turns imapflow's and node's errors into one that says what failed and what to check. */
export function connectionError(server: string, err: unknown): ImapConnectionError {
  if (err instanceof ImapConnectionError) return err;
  const e = err as { code?: string; message?: string; authenticationFailed?: boolean; responseText?: string };
  const code = e.code ?? '';
  const detail = [e.responseText ?? e.message ?? String(err), code && !String(e.message).includes(code) ? `(${code})` : '']
    .filter(Boolean)
    .join(' ');
  let problem: ConnectionProblem = 'dropped';
  if (e.authenticationFailed || /authenticat|login/i.test(e.responseText ?? '')) problem = 'login';
  else if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) problem = 'unreachable';
  // A timeout first: imapflow's greeting timeout on a plain connection says "Maybe should use TLS?", which is
  // about servers[].tls, not a certificate.
  else if (/TIMEOUT|ETIMEDOUT/i.test(code)) problem = 'timeout';
  else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/.test(code) || /certificate|TLS|SSL/i.test(e.message ?? '')) problem = 'tls';
  return new ImapConnectionError(server, problem, detail);
}
