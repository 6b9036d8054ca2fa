import { ImapFlow } from 'imapflow';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/load.js';
import { parseCyrusVersion, type CyrusVersion } from './cyrus-version.js';
import { ImapConnectionError, type ConnectionProblem } from './imap-connection-error.js';
import { execCommand } from './imapflow-exec.js';
import type { MailboxNaming } from './mailbox-names.js';

/** How long a login may take; commands have their own, much longer, timeout. */
const CONNECT_TIMEOUT_MS = 30_000;
/** How long a connection may sit silent outside a long command (imapflow's own default). */
const IDLE_TIMEOUT_MS = 5 * 60_000;
/**
 * Bounds on one server response. Nothing an admin session reads (greeting, CAPABILITY, ID, one LIST or
 * STATUS line per mailbox, one XBACKUP line per user) comes near them; imapflow's defaults (1 GiB a line,
 * a million tokens) would let a broken or hostile server fill this process's memory on every connection.
 */
const MAX_LINE_BYTES = 1024 * 1024;
const MAX_RESPONSE_BYTES = 2 * MAX_LINE_BYTES; // imapflow wants it above the literal cap
const MAX_RESPONSE_TOKENS = 10_000;

export interface AdminSessionOptions {
  logger?: Logger | undefined;
  /** Silence allowed between commands; XBACKUP raises it for its own duration (see xbackup.ts). */
  idleTimeoutMs?: number;
}

/**
 * One logged-in admin connection to one IMAP server. A first XBACKUP of a big mailbox sends no byte for
 * an hour, so during XBACKUP the only limit is the command timeout (servers[].commandTimeout); TCP
 * keepalive (which imapflow enables) notices a peer that is gone.
 */
export class AdminSession {
  private constructor(
    readonly server: ServerConfig,
    readonly client: ImapFlow,
    readonly naming: MailboxNaming,
    readonly version: CyrusVersion | null,
    readonly capabilities: ReadonlySet<string>,
    private readonly connectionErrors: { last?: Error },
  ) {}

  /** What made imapflow close the connection, if it did (a pending command only learns "Connection not available"). */
  get lastConnectionError(): Error | undefined {
    return this.connectionErrors.last;
  }

  static async open(server: ServerConfig, options: AdminSessionOptions = {}): Promise<AdminSession> {
    const { logger } = options;
    if (!server.password) throw new ImapConnectionError(server.name, 'login', server.passwordError ?? 'no password was loaded for this server');
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
      clientInfo: { name: 'xbackup-scheduler' },
      logger: false,
      disableAutoIdle: true,
      disableCompression: true,
      connectionTimeout: CONNECT_TIMEOUT_MS,
      greetingTimeout: CONNECT_TIMEOUT_MS,
      socketTimeout: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
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
    try {
      await client.connect();
    } catch (err) {
      client.close();
      throw connectionError(server.name, err);
    }
    let separator: string | undefined;
    try {
      separator = await hierarchySeparator(client);
    } catch (err) {
      client.close();
      throw connectionError(server.name, err);
    }
    if (separator !== '.' && separator !== '/') {
      await client.logout().catch(() => client.close());
      throw new ImapConnectionError(server.name, 'protocol', `the server announced hierarchy separator ${JSON.stringify(separator)}; Cyrus uses "." or "/"`);
    }
    const version = parseCyrusVersion(client.serverInfo?.version || undefined, client.greeting);
    return new AdminSession(server, client, { separator }, version, new Set(client.capabilities.keys()), connectionErrors);
  }

  get usable(): boolean {
    return this.client.usable;
  }

  async close(): Promise<void> {
    if (!this.client.usable) {
      this.client.close();
      return;
    }
    await this.client.logout().catch(() => this.client.close());
  }

  /** Drops the connection at once, a command in flight or not (a LOGOUT would wait behind it). */
  abort(): void {
    this.client.close();
  }
}

/**
 * The separator from `LIST "" ""`, which every server answers. imapflow's own namespace is no help:
 * an admin without an INBOX (common with virtdomains) gets a NIL personal namespace, which imapflow
 * replaces with ".".
 */
async function hierarchySeparator(client: ImapFlow): Promise<string | undefined> {
  let separator: string | undefined;
  const tagged = await execCommand(client, 'LIST', [{ type: 'STRING', value: '' }, { type: 'STRING', value: '' }], {
    LIST: (u) => {
      const value = (u.attributes[1] as { value?: unknown } | undefined)?.value;
      if (typeof value === 'string') separator = value;
    },
  });
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
  else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/.test(code) || /certificate|TLS|SSL/i.test(e.message ?? '')) problem = 'tls';
  else if (/TIMEOUT|ETIMEDOUT/i.test(code)) problem = 'timeout';
  return new ImapConnectionError(server, problem, detail);
}
