import type { CyrusToolVersion } from '../../backupd/cyrus-tool-version.js';
import type { PlainValue } from '../../config/effective.js';
import { redactUrls } from '../../config/redact.js';
import type { AttemptRecord } from '../../scheduler/state/attempt-log.js';
import type { StateDbFigures } from '../../scheduler/state/state-db-figures.js';
import { isoOrNull } from '../../units/time.js';
import type { CheckLine } from './check-lines.js';

/** `diagnose`'s one JSON document; its shape is documented in `xbackup-scheduler-diagnose(1)`. */
export interface DiagnoseReport {
  tool: { name: string; version: string };
  node: string;
  os: { platform: string; release: string; version: string; arch: string };
  generatedAt: string;
  cyrus: { backupServer: CyrusToolVersion | null; imapServers: Record<string, string | null> };
  config: { file: string; effective: PlainValue } | { file: string; errors: string[] };
  check: CheckLine[];
  attempts: AttemptsSummary | null;
  stateDb: StateDbFigures | null;
}

export interface AttemptsSummary {
  shown: number;
  byOutcome: Record<string, number>;
  userids: 'shown' | 'replaced by user-1, user-2, ...';
  recent: Array<{
    user: string;
    server: string;
    kind: string;
    startedAt: string;
    endedAt: string | null;
    outcome: string | null;
    error: string | null;
    inDoubt: boolean;
  }>;
}

/**
 * Userids replaced by user-1, user-2, ... in the order first met, in the attempts and in any text that
 * names them (an error, a check line): bug reports are often public, and a userid is a person's address.
 */
export class Pseudonyms {
  readonly #names = new Map<string, string>();

  name(userid: string): string {
    let name = this.#names.get(userid);
    if (name === undefined) {
      name = `user-${this.#names.size + 1}`;
      this.#names.set(userid, name);
    }
    return name;
  }

  /**
   * The text with every occurrence of a known userid between non-word characters replaced, longest first
   * (`anne.b` before `anne`); a dot may border it, as in a mailbox name (user.bob.Sent).
   */
  scrub(text: string): string {
    const known = [...this.#names.keys()].sort((a, b) => b.length - a.length);
    return known.reduce((t, userid) => t.replace(new RegExp(`(?<![\\w@+-])${escapeRegExp(userid)}(?![\\w@+-])`, 'g'), this.#names.get(userid)!), text);
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The last attempts, newest first; `pseudonyms` absent: the real userids. */
export function attemptsSummary(attempts: readonly AttemptRecord[], pseudonyms: Pseudonyms | undefined): AttemptsSummary {
  const byOutcome: Record<string, number> = {};
  for (const a of attempts) byOutcome[a.outcome ?? 'open'] = (byOutcome[a.outcome ?? 'open'] ?? 0) + 1;
  // Every userid named first, so that an error naming another user than its own attempt's is scrubbed too.
  for (const a of attempts) pseudonyms?.name(a.userid);
  const scrub = (text: string) => (pseudonyms ? pseudonyms.scrub(text) : text);
  return {
    shown: attempts.length,
    byOutcome,
    userids: pseudonyms ? 'replaced by user-1, user-2, ...' : 'shown',
    recent: attempts.map((a) => ({
      user: pseudonyms ? pseudonyms.name(a.userid) : a.userid,
      server: a.server,
      kind: a.kind,
      startedAt: new Date(a.startedAt).toISOString(),
      endedAt: isoOrNull(a.endedAt),
      outcome: a.outcome,
      error: a.error === null ? null : scrub(a.error),
      inDoubt: a.inDoubt,
    })),
  };
}

/** A check line with its userids scrubbed; `index of <userid>` names an unreadable index's user. */
export function scrubCheckLine(line: CheckLine, pseudonyms: Pseudonyms): CheckLine {
  const index = /^index of (.+)$/.exec(line.what);
  if (index) pseudonyms.name(index[1]!);
  return { ...line, what: pseudonyms.scrub(line.what), detail: pseudonyms.scrub(line.detail) };
}

/** The document, with every URL in any string cut to its host once more: nothing in it comes out with a credential. */
export function diagnoseJson(report: DiagnoseReport): string {
  return `${JSON.stringify(report, (_key, value: unknown) => (typeof value === 'string' ? redactUrls(value) : value), 2)}\n`;
}
