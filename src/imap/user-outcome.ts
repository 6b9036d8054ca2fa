import { encodeModifiedUtf7 } from '../backupd/modified-utf7.js';
import type { XbackupItem, XbackupRun } from './xbackup.js';

export type UserOutcomeKind = 'ok' | 'no' | 'error';

/** What one XBACKUP said about one requested user, before verification against the index. */
export interface UserOutcome {
  userid: string;
  outcome: UserOutcomeKind;
  error: string | null;
  /** The server may still be backing this user up (timeout or dropped connection before its line). */
  inDoubt: boolean;
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
  const sharedInstead = run.items.find((i) => i.kind === 'mailbox');
  return requested.map((userid): UserOutcome => {
    const line = lines.get(userid);
    if (line) {
      const error = line.ok ? null : (line.reason ?? 'failed');
      return {
        userid,
        outcome: line.ok ? 'ok' : 'no',
        error: withAdvice(error),
        inDoubt: false,
        locked: !line.ok && /Mailbox is locked/i.test(error ?? ''),
        at: line.at,
      };
    }
    const base = { userid, at: run.endedAt, locked: false };
    if (run.failure && (run.failure.kind === 'timeout' || run.failure.kind === 'connection-dropped')) {
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

interface UserLine {
  ok: boolean;
  /** The text in a line's closing ` (…)`, or null when the userid is all of it. */
  reason: string | null;
  at: number;
}

/**
 * The USER lines of the requested users, by userid; the last one counts. Cyrus writes
 * `<userid>` or `<userid> (<error>)` after `USER`, the userid unquoted and in modified UTF-7, and
 * since a userid may itself hold ` (` (`a (b`), a line belongs to the requested user it spells
 * whole, or else to the longest one it spells up to a ` (…)` that ends it. Only openings within the
 * longest requested spelling are tried, so a hostile line costs no more than that.
 */
function userLines(items: readonly XbackupItem[], requested: readonly string[]): Map<string, UserLine> {
  const bySpelling = new Map(requested.map((userid) => [encodeModifiedUtf7(userid), userid]));
  let longest = 0;
  for (const spelling of bySpelling.keys()) longest = Math.max(longest, spelling.length);
  const lines = new Map<string, UserLine>();
  for (const { kind, text, ok, at } of items) {
    if (kind !== 'user') continue;
    const whole = bySpelling.get(text);
    if (whole !== undefined) {
      lines.set(whole, { ok, reason: null, at });
      continue;
    }
    if (!text.endsWith(')')) continue;
    for (let open = text.lastIndexOf(' (', longest); open > 0; open = text.lastIndexOf(' (', open - 1)) {
      const userid = bySpelling.get(text.slice(0, open));
      if (userid !== undefined) {
        lines.set(userid, { ok, reason: text.slice(open + 2, -1), at });
        break;
      }
    }
  }
  return lines;
}
