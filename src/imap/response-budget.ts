import { ImapConnectionError } from './imap-connection-error.js';

export interface ResponseLimits {
  /** Untagged lines one command may be answered with. */
  lines: number;
  /** Items taken from them (users, mailboxes, result lines) that the command keeps until it ends. */
  kept: number;
  /** The text of those items and of each mailbox's state (live-mailboxes.ts), in characters. */
  keptChars: number;
}

/**
 * Cyrus answers discovery (`LIST "" "*" RETURN (STATUS (...))`) with one LIST and one STATUS line per
 * mailbox: a server of 100,000 users with 20 folders each sends 4,000,000 lines, of which 100,000 users are
 * kept; an XBACKUP sends one line per user. The limits stand far above that. imapflow caps each line
 * (1 MiB) but not their number, so without them a broken or hostile server could fill this process's
 * memory one line at a time.
 */
export const RESPONSE_LIMITS: ResponseLimits = { lines: 10_000_000, kept: 500_000, keptChars: 64 * 1024 * 1024 };

/**
 * A LIST that also keeps every mailbox's state (live-mailboxes.ts): that same server's 2,000,000 mailboxes
 * at about 50 characters each.
 */
export const LIVE_STATE_LIMITS: ResponseLimits = { ...RESPONSE_LIMITS, keptChars: 160 * 1024 * 1024 };

/**
 * What one command's answer has cost so far. Past a limit it throws an error naming the server, the
 * command and the limit; the command then fails and its connection is closed (see execCommand).
 */
export class ResponseBudget {
  private lines = 0;
  private kept = 0;
  private keptChars = 0;

  constructor(
    private readonly server: string,
    private readonly command: string,
    /** What the command keeps, for the error: `users and shared mailboxes`. */
    private readonly what: string,
    private readonly limits: ResponseLimits = RESPONSE_LIMITS,
  ) {}

  /** One untagged line read. */
  line(): void {
    if (++this.lines > this.limits.lines) this.exceeded(`more than ${count(this.limits.lines)} lines, the most one command may answer with`);
  }

  /** One item of `text` kept until the command ends. */
  keep(text: string): void {
    if (++this.kept > this.limits.kept) this.exceeded(`more than ${count(this.limits.kept)} ${this.what}, the most one command may keep in memory`);
    this.keepChars(text);
  }

  /** Text kept that is not an item of its own (a mailbox's state, kept with its user). */
  keepChars(text: string): void {
    this.keptChars += text.length;
    if (this.keptChars > this.limits.keptChars) this.exceeded(`more than ${mib(this.limits.keptChars)} of ${this.what}, the most one command may keep in memory`);
  }

  private exceeded(why: string): never {
    throw new ResponseLimitError(this.server, this.command, why);
  }
}

/** A command's answer went past one of the limits; `why` says which. */
export class ResponseLimitError extends ImapConnectionError {
  constructor(
    server: string,
    command: string,
    readonly why: string,
  ) {
    super(server, 'limit', `${command} answered with ${why}`);
  }
}

const count = (n: number) => n.toLocaleString('en-US');
const mib = (chars: number) => `${chars / (1024 * 1024)} MiB`;
