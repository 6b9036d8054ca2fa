// A deliberately small IMAP client for tests: it talks to Cyrus over a plain
// socket, independently of the product's imapflow code, so tests can issue
// XBACKUP (or anything else) and see exactly what the server answered.
import net from 'node:net';

export type ImapStatus = 'OK' | 'NO' | 'BAD';

export interface ImapResponse {
  status: ImapStatus;
  /** The tagged line after the status, e.g. `Completed` or `Retry operation`. */
  text: string;
  /** Untagged responses (`* ...`) received while the command ran, literals inlined. */
  untagged: string[];
}

/** A piece of a command: raw text, or bytes sent as a synchronizing literal `{n}`. */
export type CommandPart = string | { literal: string | Buffer };

export interface CommandOptions {
  /** Give up (and close the connection) after this long; default 60 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const CRLF = Buffer.from('\r\n');

/** Quotes a string for IMAP; CR, LF and NUL cannot be quoted and need a literal. */
export function imapQuote(value: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw new Error(`cannot send ${JSON.stringify(value)} as an IMAP quoted string (CR/LF/NUL): use a literal`);
  }
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The command being run: where its responses go. */
interface PendingCommand {
  tag: string;
  untagged: string[];
  onContinuation: (() => void) | undefined;
  resolve: (response: ImapResponse) => void;
  reject: (error: Error) => void;
}

export class RawImapClient {
  /** The server's greeting line (`* OK [CAPABILITY ...] ... server ready`). */
  readonly greeting: string;
  private readonly socket: net.Socket;
  private readonly where: string;
  private readonly reader: ResponseReader;
  private pending: PendingCommand | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private tagCounter = 0;
  private closedBecause: Error | undefined;

  private constructor(socket: net.Socket, where: string, reader: ResponseReader, greeting: string) {
    this.socket = socket;
    this.where = where;
    this.reader = reader;
    this.greeting = greeting;
    reader.onResponse = (response) => this.dispatch(response);
    socket.on('error', (error) => this.fail(new Error(`IMAP connection to ${where} failed: ${error.message}`)));
    socket.on('close', () => this.fail(new Error(`IMAP connection to ${where} closed by the server`)));
  }

  /** Connects and waits for the greeting; an untagged BYE instead of OK/PREAUTH is an error. */
  static connect(host: string, port: number, options: CommandOptions = {}): Promise<RawImapClient> {
    const where = `${host}:${port}`;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      const reader = new ResponseReader();
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no IMAP greeting from ${where} within ${timeoutMs} ms`));
      }, timeoutMs);
      const giveUp = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.on('data', (chunk) => reader.push(chunk));
      socket.once('error', (error) => giveUp(new Error(`cannot connect to IMAP at ${where}: ${error.message}`)));
      socket.once('close', () => giveUp(new Error(`IMAP server at ${where} closed the connection before greeting`)));
      reader.onResponse = (greeting) => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        if (!/^\* (OK|PREAUTH)\b/i.test(greeting)) {
          giveUp(new Error(`IMAP server at ${where} refused the connection: ${greeting}`));
          return;
        }
        resolve(new RawImapClient(socket, where, reader, greeting));
      };
    });
  }

  /** True once the connection is gone (closed, failed, timed out, logged out). */
  get closed(): boolean {
    return this.closedBecause !== undefined;
  }

  /** LOGIN with quoted strings; throws with the server's text unless it answers OK. */
  async login(user: string, password: string, options: CommandOptions = {}): Promise<void> {
    const response = await this.command(`LOGIN ${imapQuote(user)} ${imapQuote(password)}`, options);
    if (response.status !== 'OK') {
      throw new Error(`IMAP LOGIN as ${user} at ${this.where} failed: ${response.status} ${response.text}`);
    }
  }

  /**
   * Sends one tagged command (the tag is added here) and resolves with its
   * tagged status, text and the untagged lines that arrived meanwhile. Commands
   * are queued, so concurrent callers never interleave on the wire.
   */
  command(command: string | CommandPart[], options: CommandOptions = {}): Promise<ImapResponse> {
    const parts = typeof command === 'string' ? [command] : command;
    const run = this.queue.then(() => this.run(parts, options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * APPEND one message, or several in one MULTIAPPEND (RFC 3502; Cyrus has it),
   * each as a synchronizing literal.
   */
  append(mailbox: string, messages: string | Buffer | (string | Buffer)[], options: CommandOptions = {}): Promise<ImapResponse> {
    const list = Array.isArray(messages) ? messages : [messages];
    if (list.length === 0) throw new Error(`APPEND to ${mailbox} needs at least one message`);
    const parts: CommandPart[] = [`APPEND ${imapQuote(mailbox)}`];
    for (const message of list) parts.push(' ', { literal: message });
    return this.command(parts, options);
  }

  /** LOGOUT, then close; never throws (a dead connection is already logged out). */
  async logout(): Promise<void> {
    if (this.closed) return;
    await this.command('LOGOUT', { timeoutMs: 5_000 }).catch(() => undefined);
    this.close();
  }

  /**
   * Lets the process exit while this connection is idle; a running command
   * still keeps it alive through its timeout timer. Returns the client.
   */
  unref(): this {
    this.socket.unref();
    return this;
  }

  /** Drops the connection at once. */
  close(): void {
    this.fail(new Error(`IMAP connection to ${this.where} was closed by the client`));
  }

  private run(parts: CommandPart[], timeoutMs: number): Promise<ImapResponse> {
    if (this.closedBecause) return Promise.reject(this.closedBecause);
    const tag = `T${++this.tagCounter}`;
    const shown = describeCommand(parts);
    return new Promise<ImapResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new Error(`IMAP command "${shown}" at ${this.where} got no tagged reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const pending: PendingCommand = {
        tag,
        untagged: [],
        onContinuation: undefined,
        resolve: (response) => {
          clearTimeout(timer);
          this.pending = undefined;
          resolve(response);
        },
        reject: (error) => {
          clearTimeout(timer);
          this.pending = undefined;
          reject(error);
        },
      };
      this.pending = pending;
      this.sendParts(pending, [Buffer.from(`${tag} `)], parts);
    });
  }

  /**
   * Writes text up to each literal, waits for the server's `+`, then sends the
   * literal together with what follows it: one write per round trip, so Nagle
   * and delayed ACKs never add 40 ms to a command.
   */
  private sendParts(pending: PendingCommand, lead: Buffer[], parts: CommandPart[]): void {
    const chunks = [...lead];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (typeof part === 'string') {
        chunks.push(Buffer.from(part));
        continue;
      }
      const bytes = typeof part.literal === 'string' ? Buffer.from(part.literal) : part.literal;
      pending.onContinuation = () => {
        pending.onContinuation = undefined;
        this.sendParts(pending, [bytes], parts.slice(i + 1));
      };
      chunks.push(Buffer.from(`{${bytes.length}}\r\n`));
      this.socket.write(Buffer.concat(chunks));
      return;
    }
    chunks.push(CRLF);
    this.socket.write(Buffer.concat(chunks));
  }

  private dispatch(response: string): void {
    const pending = this.pending;
    if (!pending) return; // unsolicited (e.g. a BYE before closing): nobody asked
    if (response.startsWith('+')) {
      if (pending.onContinuation) pending.onContinuation();
      return;
    }
    if (response.startsWith('* ')) {
      pending.untagged.push(response);
      return;
    }
    const tagged = /^(\S+) (OK|NO|BAD)(?: (.*))?$/is.exec(response);
    if (tagged && tagged[1] === pending.tag) {
      const status = tagged[2]!.toUpperCase() as ImapStatus;
      pending.resolve({ status, text: tagged[3] ?? '', untagged: pending.untagged });
      return;
    }
    this.fail(new Error(`unexpected IMAP response from ${this.where} while waiting for ${pending.tag}: ${response}`));
  }

  private fail(error: Error): void {
    if (this.closedBecause) return;
    this.closedBecause = error;
    this.reader.onResponse = () => undefined;
    this.socket.destroy();
    this.pending?.reject(error);
  }
}

/** Never show a LOGIN password in an error message. */
function describeCommand(parts: CommandPart[]): string {
  const text = parts.map((part) => (typeof part === 'string' ? part : '{literal}')).join('');
  return /^LOGIN /i.test(text) ? 'LOGIN ...' : text.slice(0, 200);
}

/**
 * Splits the byte stream into whole server responses: lines may arrive split
 * across TCP chunks, and a line ending in `{n}` continues after n literal bytes.
 */
class ResponseReader {
  onResponse: (response: string) => void = () => undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private current: Buffer[] = [];
  private literalRemaining = 0;

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.literalRemaining > 0) {
        if (this.buffer.length < this.literalRemaining) return;
        this.current.push(this.buffer.subarray(0, this.literalRemaining));
        this.buffer = this.buffer.subarray(this.literalRemaining);
        this.literalRemaining = 0;
      }
      const end = this.buffer.indexOf(CRLF);
      if (end < 0) return;
      const line = this.buffer.subarray(0, end);
      this.buffer = this.buffer.subarray(end + 2);
      const literal = /\{(\d+)\}$/.exec(line.toString('latin1'));
      if (literal) {
        this.current.push(line, CRLF);
        this.literalRemaining = Number(literal[1]);
        continue;
      }
      this.current.push(line);
      const response = Buffer.concat(this.current).toString('utf8');
      this.current = [];
      this.onResponse(response);
    }
  }
}
