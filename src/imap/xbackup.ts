import type { AdminSession } from './admin-session.js';
import { hasXbackup } from './cyrus-version.js';
import { ImapConnectionError } from './imap-connection-error.js';
import { attributesText, commandText, connectionLossReason, execCommand, seconds, withInactivityTimeout, type ExecAttribute, type TaggedResponse, type UntaggedResponse } from './imapflow-exec.js';
import { ResponseBudget, ResponseLimitError } from './response-budget.js';
import { userLineClaimer } from './user-outcome.js';
import { XbackupFailure, type XbackupFailureKind } from './xbackup-failure.js';
import { validateChannel } from './wire-validation.js';

/** One untagged line of XBACKUP: `* OK USER anne`, `* NO USER bob (Mailbox is locked)`, `* OK MAILBOX shared.news`. */
export interface XbackupItem {
  kind: 'user' | 'mailbox';
  /**
   * What follows `USER ` or `MAILBOX `, as Cyrus spelled it: the userid (modified UTF-7) or
   * mailbox name, and on a NO line ` (<error>)` after it. A userid may itself hold spaces and
   * parentheses, so only the users asked for tell where it ends (see userOutcomes).
   */
  text: string;
  ok: boolean;
  at: number;
}

export interface XbackupRun {
  server: string;
  pattern: string;
  channel: string;
  startedAt: number;
  endedAt: number;
  /** The requested users' lines, and the first OTHER_LINES_KEPT of the others, in the order they came. */
  items: XbackupItem[];
  /** USER and MAILBOX lines for no requested user past the first OTHER_LINES_KEPT: counted, not kept. */
  unkeptLines: number;
  /** null when the connection failed or timed out before the tagged response. */
  tagged: TaggedResponse | null;
  /** Set when the command as a whole failed; users already reported keep their own outcome. */
  failure: XbackupFailure | null;
}

export interface XbackupOptions {
  timeoutMs: number;
  /** Where timeoutMs comes from, for the error; servers[].commandTimeout unless said. */
  timeoutSetting?: string;
  /** The users the command is for (%SHARED for shared mailboxes): every line for them is kept. */
  requested: readonly string[];
  /** Called for each untagged line as the server sends it (the server flushes one per finished user). */
  onItem?: (item: XbackupItem) => void;
  now?: () => number;
}

/** Our own command timeout decides; the connection's silence limit only backs it up. */
const SILENCE_MARGIN_MS = 60_000;

/**
 * Lines for no requested user that are kept (the rest are only counted): a wildcard may rightly reach a
 * few users created since it was checked (see sweptResults), never thousands.
 */
export const OTHER_LINES_KEPT = 1_000;

const ITEM_LINE = /^(USER|MAILBOX) (.+)$/s;

/**
 * Issues `XBACKUP <pattern> <channel>` on an admin session. `pattern` is a mailbox pattern already
 * built and validated (see mailbox-names.ts); it goes out as an IMAP string or literal, never raw.
 * The channel is a bare atom, as Cyrus requires, and is never omitted.
 */
export async function runXbackup(session: AdminSession, pattern: string, channel: string, options: XbackupOptions): Promise<XbackupRun> {
  validateChannel(channel);
  const now = options.now ?? Date.now;
  const server = session.server.name;
  const attributes: ExecAttribute[] = [{ type: 'STRING', value: pattern }, { type: 'ATOM', value: channel }];
  const budget = new ResponseBudget(server, commandText('XBACKUP', attributes), 'USER and MAILBOX lines');
  const claim = userLineClaimer(options.requested);
  const items: XbackupItem[] = [];
  let others = 0;
  let unkeptLines = 0;
  const startedAt = now();
  const onLine = (ok: boolean) => (u: UntaggedResponse) => {
    // Cyrus writes these lines as plain text and nothing else: one with a [response code] or a literal is not one of them.
    if (u.attributes.length !== 1 || (u.attributes[0] as { type?: unknown } | undefined)?.type !== 'TEXT') return;
    const m = ITEM_LINE.exec(attributesText(u.attributes));
    if (!m) return;
    const item: XbackupItem = { kind: m[1] === 'USER' ? 'user' : 'mailbox', text: m[2]!, ok, at: now() };
    options.onItem?.(item);
    if (item.kind === 'user' && claim(item.text)) {
      budget.keep(item.text);
      items.push(item);
    } else if (others < OTHER_LINES_KEPT) {
      others++;
      budget.keep(item.text);
      items.push(item);
    } else {
      unkeptLines++;
    }
  };

  // A barrier: whatever the server sent after its previous answer (a stray `* OK USER` of an earlier command)
  // is read while this NOOP is in flight, so it cannot be taken for the XBACKUP's own line. A failure here
  // throws: nothing was asked yet, so the caller counts a connection failure, not users in doubt.
  await execCommand(session.client, 'NOOP', [], {}, { server, timeoutMs: session.server.stepTimeout, timeoutSetting: 'servers[].stepTimeout' });

  let tagged: TaggedResponse | null = null;
  let failure: XbackupFailure | null = null;
  try {
    tagged = await withInactivityTimeout(session.client, options.timeoutMs + SILENCE_MARGIN_MS, () =>
      execCommand(session.client, 'XBACKUP', attributes, { OK: onLine(true), NO: onLine(false) }, {
        server,
        timeoutMs: options.timeoutMs,
        timeoutSetting: options.timeoutSetting ?? 'servers[].commandTimeout',
        budget,
      }),
    );
    if (tagged.status !== 'OK') failure = new XbackupFailure(classify(tagged, session), server, pattern, channel, `${tagged.status} ${tagged.text}`);
  } catch (err) {
    // Usually closed already; if not (an untagged NO), the command may still be running there, and its late
    // lines must not reach the next command on this connection. Closing does not stop the server's work:
    // the caller treats unreported users as in doubt.
    session.client.close();
    if (err instanceof ResponseLimitError) {
      failure = new XbackupFailure('response-limit', server, pattern, channel, `its answer went past a limit: ${err.why}`);
    } else if (err instanceof ImapConnectionError && err.problem === 'timeout') {
      failure = new XbackupFailure('timeout', server, pattern, channel, `no tagged answer after ${seconds(options.timeoutMs)} (${options.timeoutSetting ?? 'servers[].commandTimeout'})`);
    } else {
      failure = new XbackupFailure('connection-dropped', server, pattern, channel, `connection lost before the tagged answer: ${connectionLossReason(err, session.lastConnectionError)}`);
    }
  }
  return { server, pattern, channel, startedAt, endedAt: now(), items, unkeptLines, tagged, failure };
}

function classify(tagged: TaggedResponse, session: AdminSession): XbackupFailureKind {
  const text = tagged.text;
  if (tagged.status === 'BAD') {
    if (/Unrecognized command/i.test(text)) return session.version && !hasXbackup(session.version) ? 'removed' : 'disabled';
    if (/argument/i.test(text)) return 'bad-arguments';
    return 'failed';
  }
  if (/Permission denied/i.test(text)) return 'not-admin';
  if (/Mailbox does not exist/i.test(text)) return 'no-such-mailbox';
  if (/Retry operation/i.test(text)) return 'backupd-unreachable';
  if (/Mailbox is locked/i.test(text)) return 'locked';
  return 'failed';
}
