// What `ctl_backups -j … -- compact|verify <userid>…` says about each backup it was given, as Cyrus 3.6 and
// 3.10 print it (docs/cyrus-facts-maintenance.md): on stdout one pretty-printed JSON object per backup,
//   { "command": "verify", "userid": "anne", "fname": "/…/anne_jgSfvM", "status": "ok" }
// with status `ok`, `skipped` (compact: nothing to do), `locked` (another process holds the backup's
// lock) or `failed (<Cyrus's error text>)`; on stderr `<userid>: not found in backups.db` for a userid
// with no backup, and Cyrus's own account of a failure (`data length mismatch for chunk 1: …`), which
// comes with no userid, so it can only be put to a backup's name when the run named that one backup.
// compact (and reindex) print what they could not read on stdout, before that backup's object
// (`error reading chunk at offset 6989, byte 0: Input/output error`, then `"status": "ok"`): it is that backup's.
import { escapeControlCharacters } from '../../text/quote-for-log.js';

export type MaintenanceVerb = 'compact' | 'verify' | 'stat';

export type BackupStatus = 'ok' | 'skipped' | 'locked' | 'failed' | 'not-found' | 'no-answer';

export interface BackupOutcome {
  userid: string;
  status: BackupStatus;
  /** Cyrus's words: the text of `failed (…)`, and its stderr when the run named this backup alone. */
  detail?: string;
  /** The data file ctl_backups acted on, as it printed it. */
  dataFile?: string;
  /** stat: how much of the data file compaction would keep (`utilisation_ratio`, a percentage). */
  utilisation?: number;
}

/** `ok`, `failed (Unknown code ____ 255)`: a backup's outcome in a line of a log or a check. */
export function outcomeText(o: BackupOutcome): string {
  return `${o.status}${o.detail ? ` (${o.detail})` : ''}`;
}

export interface ParsedRun {
  /** One per userid asked, in the order asked. */
  outcomes: BackupOutcome[];
  /** Objects about backups that were not asked for, and stdout that is no object: never put to a backup. */
  stray: string[];
}

const FAILED = /^failed \((.*)\)$/s;

/** `[line, userid, message]` when the line is `<an asked userid>: <message>`, the longest such userid. */
function statErrorOf(line: string, asked: ReadonlySet<string>): [string, string, string] | null {
  let best: string | null = null;
  for (const userid of asked) if (line.startsWith(`${userid}: `) && (best === null || userid.length > best.length)) best = userid;
  return best === null ? null : [line, best, line.slice(best.length + 2)];
}

/**
 * stat's object has no status: its utilisation_ratio (compactable ÷ uncompressed bytes × 100) is the answer.
 * A backup with no bytes gives no finite ratio, and anything but a percentage is not believed.
 */
function statOutcome(o: Record<string, unknown>): { status: BackupStatus; detail?: string; utilisation?: number } {
  const ratio = o.utilisation_ratio;
  if (typeof ratio === 'number' && Number.isFinite(ratio) && ratio >= 0 && ratio <= 100) return { status: 'ok', utilisation: ratio };
  return { status: 'failed', detail: `utilisation_ratio is no percentage: ${escapeControlCharacters(JSON.stringify(ratio) ?? 'absent')}` };
}
const NOT_FOUND = /^(.*): not found in backups\.db$/;

/**
 * A stdout of separate objects, each `{` … `}` on lines of their own (jansson's JSON_INDENT), each with the
 * other lines printed since the previous object (`said`): Cyrus's words while working on that backup.
 */
function objects(stdout: string): { found: Array<{ value: unknown; said: string[] }>; stray: string[] } {
  const found: Array<{ value: unknown; said: string[] }> = [];
  const stray: string[] = [];
  let said: string[] = [];
  let open: string[] | null = null;
  for (const line of stdout.split('\n')) {
    if (open === null) {
      if (line === '{') open = [line];
      else if (line.trim() !== '') said.push(line);
      continue;
    }
    open.push(line);
    if (line === '}') {
      const text = open.join('\n');
      open = null;
      try {
        found.push({ value: JSON.parse(text), said });
      } catch {
        stray.push(...said, text);
      }
      said = [];
    }
  }
  stray.push(...said);
  if (open !== null) stray.push(open.join('\n'));
  return { found, stray };
}

function statusOf(text: string): { status: BackupStatus; detail?: string } {
  if (text === 'ok' || text === 'skipped' || text === 'locked') return { status: text };
  const failed = FAILED.exec(text);
  return { status: 'failed', detail: escapeControlCharacters(failed ? failed[1]! : text) };
}

/**
 * Each asked backup's outcome. A backup neither printed nor refused is `no-answer` (ctl_backups died, was
 * killed, or stopped early); a second object about the same backup is stray, not a second outcome.
 */
export function parseCtlBackupsRun(verb: MaintenanceVerb, userids: readonly string[], stdout: string, stderr: string): ParsedRun {
  const asked = new Set(userids);
  const answered = new Map<string, BackupOutcome>();
  const { found, stray } = objects(stdout);
  for (const { value, said } of found) {
    const o = value as Record<string, unknown> | null;
    const userid = typeof o?.userid === 'string' ? o.userid : undefined;
    if (verb === 'stat' && o !== null && typeof o === 'object' && userid !== undefined && asked.has(userid) && !answered.has(userid)) {
      answered.set(userid, { userid, ...statOutcome(o), ...(typeof o.fname === 'string' ? { dataFile: o.fname } : {}) });
      continue;
    }
    if (o === null || typeof o !== 'object' || o.command !== verb || userid === undefined || typeof o.status !== 'string' || !asked.has(userid) || answered.has(userid)) {
      stray.push(...said.map(escapeControlCharacters), escapeControlCharacters(JSON.stringify(value)));
      continue;
    }
    const { status, detail } = statusOf(o.status);
    const words = [...said.map((line) => escapeControlCharacters(line.trim())), detail].filter((d) => d !== undefined);
    answered.set(userid, { userid, status, ...(words.length > 0 ? { detail: words.join('; ') } : {}), ...(typeof o.fname === 'string' ? { dataFile: o.fname } : {}) });
  }
  const cyrusSaid: string[] = [];
  for (const line of stderr.split('\n')) {
    const notFound = NOT_FOUND.exec(line);
    // stat prints no status: an error is `<userid>: <Cyrus's message>` on stderr.
    const statError = verb === 'stat' ? statErrorOf(line, asked) : null;
    if (notFound && asked.has(notFound[1]!) && !answered.has(notFound[1]!)) answered.set(notFound[1]!, { userid: notFound[1]!, status: 'not-found' });
    else if (statError && !answered.has(statError[1])) {
      answered.set(statError[1], { userid: statError[1], status: 'failed', detail: escapeControlCharacters(statError[2]) });
    }
    else if (line.trim() !== '') cyrusSaid.push(escapeControlCharacters(line.trim()));
  }
  const outcomes = userids.map((userid) => answered.get(userid) ?? { userid, status: 'no-answer' as const });
  // Cyrus prints why a backup failed on stderr, without its name: it belongs to the one backup of a one-backup run.
  if (userids.length === 1 && outcomes[0]!.status === 'failed' && cyrusSaid.length > 0) {
    outcomes[0] = { ...outcomes[0]!, detail: [...cyrusSaid, outcomes[0]!.detail].filter((d) => d !== undefined).join('; ') };
  }
  return { outcomes, stray };
}
