import { SHARED_BACKUP_KEY, useridFromCyrus } from '../cyrus-names/cyrus-userid.js';
import { encodeModifiedUtf7 } from '../cyrus-names/modified-utf7.js';
import type { XbackupItem, XbackupRun } from './xbackup.js';
import type { XbackupFailureKind } from './xbackup-failure.js';

export type UserOutcomeKind = 'ok' | 'no' | 'error';

/** What one XBACKUP said about one requested user, before verification against the index. */
export interface UserOutcome {
  userid: string;
  outcome: UserOutcomeKind;
  error: string | null;
  /** The server may still be backing this user up (timeout or dropped connection before its line). */
  inDoubt: boolean;
  /**
   * The doubt comes from a dropped connection: the IMAP server itself may have died mid-backup, and then
   * backupd commits the part it had: a chunk that follows proves nothing. After a timeout it does.
   */
  connectionDropped: boolean;
  /** `Mailbox is locked`: another backup of the user is running; retried without counting as a failure. */
  locked: boolean;
  /** When its own line arrived (or the command ended). */
  at: number;
}

/**
 * Cyrus's own words for a user's NO line, where they alone do not tell an admin what happened.
 * `Bad protocol`: the replication connection to backupd broke off mid-user (cyrus-facts §3).
 */
const USER_LINE_ADVICE: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /^Bad protocol$/i,
    'backupd broke off this user\'s replication: it stopped or crashed on the backup server, or refused what it received; check that it runs and its syslog. Nothing of this attempt counts as a backup; the user is retried later',
  ],
];

/** The command was cut short while the server may have been backing users up: those it had not reported are in doubt. */
const IN_DOUBT_KINDS: ReadonlySet<XbackupFailureKind> = new Set(['timeout', 'connection-dropped', 'response-limit']);

function withAdvice(error: string | null): string | null {
  const advice = error === null ? undefined : USER_LINE_ADVICE.find(([pattern]) => pattern.test(error))?.[1];
  return advice === undefined ? error : `${error} (${advice})`;
}

/**
 * Judges every requested user by its own untagged line, never by the tagged OK (which only means that
 * at least one item succeeded). A line for a user that was not asked for is ignored, so a confused or
 * hostile server cannot make us record a backup we did not request.
 */
export function userOutcomes(run: XbackupRun, requested: readonly string[]): UserOutcome[] {
  const lines = userLines(run.items, requested);
  const sharedInstead = requested.includes(SHARED_BACKUP_KEY) ? undefined : run.items.find((i) => i.kind === 'mailbox');
  return requested.map((userid): UserOutcome => {
    const line = userid === SHARED_BACKUP_KEY ? sharedMailboxesLine(run) : lines.get(userid);
    if (line) {
      const error = line.ok ? null : (line.reason ?? 'failed');
      return {
        userid,
        outcome: line.ok ? 'ok' : 'no',
        error: withAdvice(error),
        inDoubt: false,
        connectionDropped: false,
        locked: !line.ok && /Mailbox is locked/i.test(error ?? ''),
        at: line.at,
      };
    }
    const base = { userid, at: run.endedAt, locked: false, connectionDropped: run.failure?.kind === 'connection-dropped' };
    if (run.failure && IN_DOUBT_KINDS.has(run.failure.kind)) {
      return { ...base, outcome: 'error', error: run.failure.message, inDoubt: true };
    }
    if (run.failure) {
      return { ...base, outcome: 'no', error: run.failure.message, inDoubt: false, locked: run.failure.kind === 'locked' };
    }
    const why = sharedInstead
      ? `the server backed up a shared mailbox "${sharedInstead.text}" instead: the mailbox name was built with the wrong hierarchy separator`
      : 'the server answered OK but never reported this user';
    return { ...base, outcome: 'error', error: `${run.server}: XBACKUP ${run.pattern}: ${why}`, inDoubt: false };
  });
}

/**
 * %SHARED, the backup of a server's shared mailboxes, as one line: ok when every `MAILBOX` line was, else
 * the failed ones' errors. XBACKUP of a shared mailbox answers `* OK MAILBOX shared.news` (cyrus-facts §5).
 */
function sharedMailboxesLine(run: XbackupRun): UserLine | undefined {
  // A failure of any of them (one XBACKUP each) fails the whole backup of them, with its own words.
  if (run.failure) return undefined;
  const mailboxes = run.items.filter((i) => i.kind === 'mailbox');
  if (mailboxes.length === 0) return undefined;
  const failed = mailboxes.filter((i) => !i.ok);
  const reason = failed.length === 0 ? null : failed.map((i) => `MAILBOX ${i.text}`).join('; ');
  return { ok: failed.length === 0, reason, at: mailboxes.at(-1)!.at };
}

interface UserLine {
  ok: boolean;
  /** The text in a line's closing ` (…)`, or null when the userid is all of it. */
  reason: string | null;
  at: number;
}

/** The USER lines of the requested users, by userid; the last one counts. */
function userLines(items: readonly XbackupItem[], requested: readonly string[]): Map<string, UserLine> {
  return attributeUserLines(items, requested).lines;
}

/** The requested user a USER line's text belongs to, and the reason in its closing ` (…)`, if any. */
export interface UserLineClaim {
  userid: string;
  reason: string | null;
}

/**
 * Tells whose a USER line is. Cyrus writes `<userid>` or `<userid> (<error>)` after `USER`, the userid
 * unquoted and in modified UTF-7, and since a userid may itself hold ` (` (`a (b`), a line belongs to the
 * requested user it spells whole, or else to the longest one it spells up to a ` (…)` that ends it. Only
 * openings within the longest requested spelling are tried, so a hostile line costs no more than that.
 */
export function userLineClaimer(requested: readonly string[]): (text: string) => UserLineClaim | undefined {
  const bySpelling = new Map(requested.map((userid) => [encodeModifiedUtf7(userid), userid]));
  let longest = 0;
  for (const spelling of bySpelling.keys()) longest = Math.max(longest, spelling.length);
  return (text) => {
    const whole = bySpelling.get(text);
    if (whole !== undefined) return { userid: whole, reason: null };
    if (!text.endsWith(')')) return undefined;
    for (let open = text.lastIndexOf(' (', longest); open > 0; open = text.lastIndexOf(' (', open - 1)) {
      const userid = bySpelling.get(text.slice(0, open));
      if (userid !== undefined) return { userid, reason: text.slice(open + 2, -1) };
    }
    return undefined;
  };
}

/** A USER line that names none of the requested users: the userid as best the line spells it. */
export interface UnrequestedLine {
  userid: string;
  ok: boolean;
  error: string | null;
  at: number;
}

/**
 * The USER lines no requested user claims: what a wildcard reached beyond the users it was meant for.
 * Without a list to match against, a NO line's userid is taken up to its last ` (`.
 */
export function unrequestedUserLines(run: XbackupRun, requested: readonly string[]): UnrequestedLine[] {
  return attributeUserLines(run.items, requested).unclaimed.map(({ text, ok, at }) => {
    const open = ok || !text.endsWith(')') ? -1 : text.lastIndexOf(' (');
    const spelled = open > 0 ? text.slice(0, open) : text;
    return { userid: useridFromCyrus(spelled), ok, error: ok ? null : open > 0 ? text.slice(open + 2, -1) : 'failed', at };
  });
}

function attributeUserLines(items: readonly XbackupItem[], requested: readonly string[]): { lines: Map<string, UserLine>; unclaimed: XbackupItem[] } {
  const claim = userLineClaimer(requested);
  const lines = new Map<string, UserLine>();
  const unclaimed: XbackupItem[] = [];
  for (const item of items) {
    if (item.kind !== 'user') continue;
    const claimed = claim(item.text);
    if (claimed) lines.set(claimed.userid, { ok: item.ok, reason: claimed.reason, at: item.at });
    else unclaimed.push(item);
  }
  return { lines, unclaimed };
}
