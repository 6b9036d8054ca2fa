// A scriptable IMAP server on loopback for unit tests: it greets, answers what imapflow and
// AdminSession send on connect (CAPABILITY, LOGIN, ID, NAMESPACE, LIST "" "", LOGOUT) like Cyrus
// does, and hands every other command, XBACKUP above all, to the test's handler, which may answer
// anything at all. It understands client literals ({n} and {n+}) so quoted or literal patterns arrive whole.
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { ServerConfig } from '../../../src/config/load.js';
import { Secret } from '../../../src/config/secret.js';

export interface FakeCommand {
  tag: string;
  /** Upper-cased command name. */
  name: string;
  /** Atoms, quoted strings (unquoted) and literals, in order. */
  args: string[];
}

export interface FakeConnection {
  readonly socket: Socket;
  /** Writes raw bytes (add the CRLF yourself); ignored once the socket is gone. */
  write(data: string | Buffer): void;
  /** Writes and waits until the socket has taken it (for large or endless streams); false once the client is gone. */
  writeAndDrain(data: string | Buffer): Promise<boolean>;
  /** The tags of the commands answered so far on this connection, oldest first. */
  readonly answeredTags: readonly string[];
  close(): void;
}

export type CommandHandler = (command: FakeCommand, connection: FakeConnection) => void | Promise<void>;

export interface FakeImapServerOptions {
  /** The first line (without CRLF); default a Cyrus 3.6 greeting. */
  greeting?: string | null;
  /** Handlers by upper-cased command name; they replace the defaults. */
  handlers?: Record<string, CommandHandler>;
  /** For a command with no handler; default `BAD Unrecognized command`. */
  fallback?: CommandHandler;
  capabilities?: string;
}

const DEFAULT_CAPABILITIES = 'IMAP4rev1 LITERAL+ ID NAMESPACE AUTH=PLAIN SASL-IR';
/** What imapflow and AdminSession send while logging in and out, answered by default. */
const DEFAULT_COMMANDS = ['CAPABILITY', 'LOGIN', 'AUTHENTICATE', 'ID', 'NAMESPACE', 'LIST', 'NOOP', 'LOGOUT'];

/** A server that greets like Cyrus and then never answers anything: every command waits for ever. */
export function silentAfterGreeting(): FakeImapServerOptions {
  const silent = () => undefined;
  return { handlers: Object.fromEntries(DEFAULT_COMMANDS.map((name) => [name, silent])), fallback: silent };
}

/** Lines that are not IMAP, none of them an answer to anything (no tag of ours, no untagged NO or BAD). */
const GARBAGE = ['HTTP/1.1 400 Bad Request', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', '* garbage ((( "unbalanced', 'ZZZ9 OK not your tag', '\x00\x00\x00'];

/**
 * A server that greets and then, from the first command on, sends a garbage line every 100 ms and never an
 * answer: the connection is never quiet, so no inactivity timeout notices it.
 */
export function garbageAfterGreeting(): FakeImapServerOptions {
  const streaming = new WeakSet<Socket>();
  const garbage: CommandHandler = (_c, conn) => {
    if (streaming.has(conn.socket)) return;
    streaming.add(conn.socket);
    let i = 0;
    const timer = setInterval(() => conn.write(`${GARBAGE[i++ % GARBAGE.length]}\r\n`), 100);
    conn.socket.on('close', () => clearInterval(timer));
  };
  return { handlers: Object.fromEntries(DEFAULT_COMMANDS.map((name) => [name, garbage])), fallback: garbage };
}

export class FakeImapServer {
  /** Every command received, on every connection, in order. */
  readonly commands: FakeCommand[] = [];
  /** Connections accepted so far. */
  connections = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(options: FakeImapServerOptions = {}): Promise<FakeImapServer> {
    let fake: FakeImapServer | undefined;
    const server = createServer((socket) => fake!.serve(socket, options));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    fake = new FakeImapServer(server, address.port);
    return fake;
  }

  /** A loopback server entry for AdminSession.open. */
  serverConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
    return {
      name: 'fake',
      host: '127.0.0.1',
      port: this.port,
      tls: 'none',
      allowInsecure: false,
      tlsVerify: true,
      user: 'admin',
      passwordEnv: 'FAKE_PASSWORD',
      channel: 'backup',
      users: ['*'],
      maxConcurrent: 1,
      sharedMailboxes: true,
      commandTimeout: 10_000,
      stepTimeout: 10_000,
      password: new Secret('secret', 'test'),
      ...overrides,
    };
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  private serve(socket: Socket, options: FakeImapServerOptions): void {
    this.connections++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined); // the client may reset the connection at any point
    const answeredTags: string[] = [];
    const connection: FakeConnection = {
      socket,
      answeredTags,
      write: (data) => {
        if (!socket.destroyed && socket.writable) socket.write(data);
      },
      writeAndDrain: async (data) => {
        if (socket.destroyed || !socket.writable) return false;
        if (socket.write(data)) return true;
        // Plain listeners: events.once would reject on the ECONNRESET of a client that gave up.
        await new Promise<void>((resolve) => {
          const done = () => {
            socket.off('drain', done).off('close', done);
            resolve();
          };
          socket.on('drain', done).on('close', done);
        });
        return !socket.destroyed && socket.writable;
      },
      close: () => socket.destroy(),
    };
    const capabilities = options.capabilities ?? DEFAULT_CAPABILITIES;
    const handlers: Record<string, CommandHandler> = { ...defaultHandlers(capabilities), ...options.handlers };
    if (options.greeting !== null) connection.write(`${options.greeting ?? `* OK [CAPABILITY ${capabilities}] fake.example.com Cyrus IMAP 3.6.1 server ready`}\r\n`);

    const reader = new CommandReader((command) => {
      this.commands.push(command);
      const handler = handlers[command.name] ?? options.fallback ?? ((c, conn) => conn.write(`${c.tag} BAD Unrecognized command\r\n`));
      return Promise.resolve(handler(command, connection)).then(() => {
        answeredTags.push(command.tag);
      });
    }, (text) => connection.write(text));
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
  }
}

function defaultHandlers(capabilities: string): Record<string, CommandHandler> {
  return {
    CAPABILITY: (c, conn) => conn.write(`* CAPABILITY ${capabilities}\r\n${c.tag} OK Completed\r\n`),
    LOGIN: (c, conn) => conn.write(`${c.tag} OK [CAPABILITY ${capabilities}] User logged in\r\n`),
    AUTHENTICATE: (c, conn) => conn.write(`${c.tag} OK [CAPABILITY ${capabilities}] Success\r\n`),
    ID: (c, conn) => conn.write(`* ID ("name" "Cyrus IMAPD" "version" "3.6.1")\r\n${c.tag} OK Completed\r\n`),
    NAMESPACE: (c, conn) => conn.write(`* NAMESPACE (("INBOX." ".")) (("user." ".")) (("" "."))\r\n${c.tag} OK Completed\r\n`),
    LIST: (c, conn) => conn.write(`* LIST (\\Noselect) "." ""\r\n${c.tag} OK Completed (0.000 secs)\r\n`),
    NOOP: (c, conn) => conn.write(`${c.tag} OK Completed\r\n`),
    LOGOUT: (c, conn) => {
      conn.write(`* BYE LOGOUT received\r\n${c.tag} OK Completed\r\n`);
      conn.socket.end();
    },
  };
}

/** Splits the client's byte stream into commands, following literals. */
class CommandReader {
  private buffer = Buffer.alloc(0);
  private pieces: (string | Buffer)[] = [];
  private literalWanted = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly onCommand: (command: FakeCommand) => Promise<void>,
    private readonly write: (text: string) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.literalWanted > 0) {
        if (this.buffer.length < this.literalWanted) return;
        this.pieces.push(this.buffer.subarray(0, this.literalWanted));
        this.buffer = this.buffer.subarray(this.literalWanted);
        this.literalWanted = 0;
        continue;
      }
      const end = this.buffer.indexOf('\r\n');
      if (end === -1) return;
      const line = this.buffer.subarray(0, end).toString('utf8');
      this.buffer = this.buffer.subarray(end + 2);
      const literal = /\{(\d+)(\+?)\}$/.exec(line);
      if (literal) {
        this.pieces.push(line.slice(0, literal.index), '\u0000LITERAL');
        this.literalWanted = Number(literal[1]);
        if (literal[2] === '') this.write('+ go ahead\r\n');
        if (this.literalWanted > 0) continue;
      }
      this.pieces.push(line);
      const command = parseCommand(this.pieces);
      this.pieces = [];
      // One at a time, in order, as Cyrus does.
      this.queue = this.queue.then(() => this.onCommand(command));
    }
  }
}

/** `tag NAME args...` from line pieces with literals in between (marked by the piece before them). */
function parseCommand(pieces: (string | Buffer)[]): FakeCommand {
  const args: string[] = [];
  let head: string[] | undefined;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (Buffer.isBuffer(piece)) {
      args.push(piece.toString('utf8'));
      continue;
    }
    if (piece === '\u0000LITERAL') continue;
    const tokens = tokenize(piece);
    if (head === undefined) {
      head = tokens.splice(0, 2);
    }
    args.push(...tokens);
  }
  return { tag: head?.[0] ?? '', name: (head?.[1] ?? '').toUpperCase(), args };
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    tokens.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  }
  return tokens;
}
