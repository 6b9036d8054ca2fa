import type { ImapFlow } from 'imapflow';
import { escapeControlCharacters } from '../text/quote-for-log.js';
import { ImapConnectionError } from './imap-connection-error.js';
import { ResponseBudget } from './response-budget.js';

/**
 * The one place that uses imapflow's internals: `exec()`, as imapflow (2.10) has no public call for a
 * custom command such as XBACKUP, its inactivity timer and the command it waits on. package.json pins
 * imapflow exactly for that reason; an upgrade is a deliberate change, which this module's tests
 * (test/imap/hostile-server.test.ts against a fake server, xbackup.integration.test.ts against Cyrus) judge.
 */

/** Node timers cannot wait longer than this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type ExecAttribute = { type: 'ATOM' | 'STRING'; value: string } | ExecAttribute[];

/** An untagged response as imapflow parses it: `* OK USER anne` is command OK with one TEXT attribute. */
export interface UntaggedResponse {
  command: string;
  attributes: unknown[];
}

export interface TaggedResponse {
  status: 'OK' | 'NO' | 'BAD';
  text: string;
}

type UntaggedHandler = (response: UntaggedResponse) => void;

interface ImapFlowInternals {
  exec(
    command: string,
    attributes: ExecAttribute[],
    options: { untagged: Record<string, (u: UntaggedResponse) => Promise<void>> },
  ): Promise<{ response: { attributes?: unknown[] }; next: () => void }>;
}

interface ImapFlowCommandError extends Error {
  code?: string;
  responseStatus?: string;
  responseText?: string;
  /** The server's BYE text, on the error a command gets when the connection closed under it. */
  reason?: string;
}

/** The text of one parsed attribute (an ATOM, STRING or TEXT), or undefined for a list, NIL or anything else. */
export const attributeValue = (a: unknown): string | undefined =>
  typeof a === 'object' && a !== null && typeof (a as { value?: unknown }).value === 'string' ? (a as { value: string }).value : undefined;

/**
 * Plain text of an attribute list: TEXT, ATOM and STRING values joined by spaces (nested lists skipped).
 * Control characters come out escaped: the text ends up in logs, the state database and terminals.
 */
export function attributesText(attributes: readonly unknown[] | undefined): string {
  return escapeControlCharacters(
    (attributes ?? [])
      .flatMap((a) => attributeValue(a) ?? [])
      .join(' ')
      .trim(),
  );
}

/**
 * Why a command's connection went away. imapflow rejects the command with a bare "Connection not
 * available"; the server's BYE text, or the error that made imapflow close the connection (a response
 * line over the size limit, say), says why.
 */
export function connectionLossReason(err: unknown, connectionError: Error | undefined): string {
  const e = err as ImapFlowCommandError;
  const message = escapeControlCharacters(e?.message ?? String(err));
  if (e?.code !== 'NoConnection') return message;
  if (e.reason) return `${message} (the server said BYE ${escapeControlCharacters(e.reason)})`;
  if (connectionError) {
    const code = (connectionError as ImapFlowCommandError).code;
    return `${message} (${escapeControlCharacters(connectionError.message)}${code ? ` [${code}]` : ''})`;
  }
  return message;
}

export interface ExecOptions {
  /** The server's name, for errors. */
  server: string;
  /** The whole command's deadline: past it the connection is closed and the command fails. */
  timeoutMs: number;
  /** Where the deadline comes from, named in the error: `servers[].stepTimeout`. */
  timeoutSetting: string;
  /**
   * For an answer that may rightly take long (a LIST of every mailbox): the most time allowed without a
   * line for the handlers, servers[].stepTimeout. Lines nobody handles (garbage) do not count.
   */
  silenceMs?: number;
  /** What the handlers keep of the answer; without one, only its lines are counted. */
  budget?: ResponseBudget;
}

/** A command as an admin would type it, for errors: `LIST "" "*" RETURN (STATUS (SIZE))`. */
export function commandText(command: string, attributes: readonly ExecAttribute[]): string {
  const text = (a: ExecAttribute): string =>
    Array.isArray(a) ? `(${a.map(text).join(' ')})` : a.type === 'ATOM' ? a.value : `"${a.value.replace(/["\\]/g, '\\$&')}"`;
  return escapeControlCharacters([command, ...attributes.map(text)].join(' '));
}

/** `30 s`, `0.5 s`. */
export const seconds = (ms: number): string => `${ms / 1000} s`;

/**
 * Sends one command and resolves with its tagged status: NO and BAD are results here, not exceptions.
 * It rejects when the connection fails before the tagged response (closed, reset), when the deadline
 * passes, when the answer goes past the budget's limits, or when a handler throws; in the last three
 * cases it closes the connection itself, so that nothing more of the answer is read.
 */
export async function execCommand(
  client: ImapFlow,
  command: string,
  attributes: ExecAttribute[],
  untagged: Record<string, UntaggedHandler>,
  options: ExecOptions,
): Promise<TaggedResponse> {
  const text = commandText(command, attributes);
  const budget = options.budget ?? new ResponseBudget(options.server, text, 'items');
  let failure: Error | undefined;
  const fail = (err: Error) => {
    // Formatted now: an error thrown in a handler would otherwise hold on to its frames' closures, and so to
    // everything the command kept, for as long as the error lives.
    void err.stack;
    failure ??= err;
    client.close();
  };
  let lastLineAt = Date.now();
  // imapflow logs and swallows what a handler throws: the error is kept here and fails the command instead.
  const handlers = Object.fromEntries(
    Object.entries(untagged).map(([name, handle]) => [
      name.toUpperCase(),
      async (u: UntaggedResponse) => {
        if (failure) return;
        lastLineAt = Date.now();
        try {
          budget.line();
          handle(u);
        } catch (err) {
          fail(err as Error);
        }
      },
    ]),
  );
  const timer = setTimeout(
    () => fail(new ImapConnectionError(options.server, 'timeout', `${text} got no answer within ${seconds(options.timeoutMs)} (${options.timeoutSetting})`)),
    Math.min(options.timeoutMs, MAX_TIMER_MS),
  );
  // One timer, re-armed for what is left of the silence rather than for every line (millions of them).
  let silenceTimer: NodeJS.Timeout | undefined;
  const silenceMs = options.silenceMs;
  if (silenceMs !== undefined) {
    const check = () => {
      const quiet = Date.now() - lastLineAt;
      if (quiet < silenceMs) silenceTimer = setTimeout(check, silenceMs - quiet);
      else fail(new ImapConnectionError(options.server, 'timeout', `${text} went quiet: nothing for ${seconds(silenceMs)} (servers[].stepTimeout)`));
    };
    silenceTimer = setTimeout(check, silenceMs);
  }
  try {
    const { response, next } = await (client as unknown as ImapFlowInternals).exec(command, attributes, { untagged: handlers });
    next();
    if (failure) throw failure;
    return { status: 'OK', text: attributesText(response.attributes) };
  } catch (err) {
    if (failure) throw failure;
    const e = err as ImapFlowCommandError;
    // imapflow also fails the command on a NO or BAD line without any tag (a workaround for another
    // server); that is not this command's answer, and the command may still be running.
    if (e.code === 'MissingTag') {
      throw new Error(`the server sent an untagged ${e.responseStatus} ${JSON.stringify(escapeControlCharacters(e.responseText ?? ''))} instead of this command's tagged answer`);
    }
    if (e.responseStatus === 'NO' || e.responseStatus === 'BAD') {
      return { status: e.responseStatus, text: escapeControlCharacters(e.responseText ?? '') };
    }
    throw err;
  } finally {
    clearTimeout(timer);
    clearTimeout(silenceTimer);
  }
}

/**
 * Runs `work` on `client` within `ms`: past it the connection is closed and `expired()` is thrown.
 * For what is not one command of ours, such as imapflow's own login.
 */
export async function withDeadline<T>(client: ImapFlow, ms: number, expired: () => Error, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(expired());
      client.close();
    }, Math.min(ms, MAX_TIMER_MS));
  });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The command imapflow is waiting on the server for, if any (its login sends several). */
export function pendingCommand(client: ImapFlow): string | undefined {
  const request = (client as unknown as { currentRequest?: { command?: string } | false }).currentRequest;
  return request ? request.command : undefined;
}

interface ImapFlowTimer {
  socketTimeout: number;
  socket?: { destroyed: boolean };
  armSocketTimeout(socket: unknown): void;
}

/**
 * Runs `work` with imapflow's inactivity timeout raised to `ms`. imapflow closes a connection whose
 * command has been silent that long, and an XBACKUP is silent for as long as the server replicates
 * a user: an hour for a big first backup. Outside such commands the usual, shorter limit applies.
 */
export async function withInactivityTimeout<T>(client: ImapFlow, ms: number, work: () => Promise<T>): Promise<T> {
  const timer = client as unknown as ImapFlowTimer;
  const previous = timer.socketTimeout;
  const rearm = (value: number) => {
    timer.socketTimeout = value;
    if (timer.socket && !timer.socket.destroyed) timer.armSocketTimeout(timer.socket);
  };
  rearm(Math.min(ms, MAX_TIMER_MS));
  try {
    return await work();
  } finally {
    rearm(previous);
  }
}
