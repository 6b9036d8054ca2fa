import type { ImapFlow } from 'imapflow';
import { escapeControlCharacters } from '../config/quote-for-log.js';

/**
 * The one place that uses imapflow's internal `exec()`: imapflow (2.10) has no public call for a custom
 * command such as XBACKUP. If an upgrade changes it, this module and its real-Cyrus test break, nothing else.
 */

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

/**
 * Plain text of an attribute list: TEXT, ATOM and STRING values joined by spaces (nested lists skipped).
 * Control characters come out escaped: the text ends up in logs, the state database and terminals.
 */
export function attributesText(attributes: readonly unknown[] | undefined): string {
  return escapeControlCharacters(
    (attributes ?? [])
      .filter((a): a is { value: string } => typeof a === 'object' && a !== null && !Array.isArray(a) && typeof (a as { value?: unknown }).value === 'string')
      .map((a) => a.value)
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

/**
 * Sends one command and resolves with its tagged status: NO and BAD are results here, not exceptions.
 * It rejects only when the connection fails before the tagged response (closed, reset, timed out).
 */
export async function execCommand(
  client: ImapFlow,
  command: string,
  attributes: ExecAttribute[],
  untagged: Record<string, UntaggedHandler> = {},
): Promise<TaggedResponse> {
  const handlers = Object.fromEntries(
    Object.entries(untagged).map(([name, handle]) => [name.toUpperCase(), async (u: UntaggedResponse) => handle(u)]),
  );
  try {
    const { response, next } = await (client as unknown as ImapFlowInternals).exec(command, attributes, { untagged: handlers });
    next();
    return { status: 'OK', text: attributesText(response.attributes) };
  } catch (err) {
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
  }
}

interface ImapFlowTimer {
  socketTimeout: number;
  socket?: { destroyed: boolean };
  armSocketTimeout(socket: unknown): void;
}

/** Node timers cannot wait longer than this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
