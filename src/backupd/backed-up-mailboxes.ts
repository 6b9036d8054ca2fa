// The mailboxes a user's backup holds, their values as Cyrus writes them, and the text that carries them
// from a scan's threads into its result and the state database's scan cache.

/** A live row (deleted IS NULL) of a backup index's `mailbox` table, under Cyrus's internal name (`user.anne.Sent`). */
export interface BackedUpMailbox {
  name: string;
  uidvalidity: number;
  lastUid: number;
  highestModseq: number;
}

/** A value of a mailbox row that is not what Cyrus writes there: its column, what it should be, and the value. */
export interface MailboxValueProblem {
  column: 'mboxname' | 'uidvalidity' | 'last_uid' | 'highestmodseq';
  expected: string;
  value: unknown;
}

/** Twice the longest name Cyrus keeps (MAX_MAILBOX_NAME: 490 or 510 bytes, by release). */
export const MAX_NAME_LENGTH = 1000;
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
export const MAX_UIDVALIDITY = 2 ** 32 - 1;

/**
 * The first of these values that is not what Cyrus writes (a name, a 32-bit UIDVALIDITY, counts); null
 * when all are. Integers may come as bigint, as SQLite gives them to a statement with safe integers.
 */
export function mailboxProblem(name: unknown, uidvalidity: unknown, lastUid: unknown, highestModseq: unknown): MailboxValueProblem | null {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH || CONTROL_CHARACTER.test(name)) {
    return { column: 'mboxname', expected: 'a mailbox name', value: name };
  }
  if (!isIntegerIn(uidvalidity, 1, MAX_UIDVALIDITY)) return { column: 'uidvalidity', expected: `a UIDVALIDITY (1 to ${MAX_UIDVALIDITY})`, value: uidvalidity };
  if (!isIntegerIn(lastUid, 0, Number.MAX_SAFE_INTEGER)) return { column: 'last_uid', expected: 'a UID', value: lastUid };
  if (!isIntegerIn(highestModseq, 0, Number.MAX_SAFE_INTEGER)) return { column: 'highestmodseq', expected: 'a modseq', value: highestModseq };
  return null;
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  if (typeof value === 'bigint') return value >= BigInt(min) && value <= BigInt(max);
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** `<row> ("<name>")'s <column> is not <what>: <value>`, the name left out when it is the bad value. */
export function describeProblem(row: string, name: unknown, problem: MailboxValueProblem): string {
  const named = problem.column === 'mboxname' ? '' : ` (${JSON.stringify(name)})`;
  return `${row}${named}'s ${problem.column} is not ${problem.expected}: ${shown(problem.value)}`;
}

function shown(value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}… (${value.length} characters)` : JSON.stringify(value);
  if (Buffer.isBuffer(value)) return `a BLOB of ${value.length} bytes`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return (JSON.stringify(value) ?? String(value)).slice(0, 40);
}

/**
 * The rows as a JSON array of `[name, uidvalidity, lastUid, highestModseq]`, in the index's row order:
 * `[["user.anne",1700000000,120,340],["user.anne.Sent",1700000001,12,40]]`.
 */
export function encodeBackedUpMailboxes(rows: readonly BackedUpMailbox[]): string {
  return JSON.stringify(rows.map((r) => [r.name, r.uidvalidity, r.lastUid, r.highestModseq]));
}

/**
 * What encodeBackedUpMailboxes wrote, read back from the scan cache: each value is checked as it was
 * when read from the index, and text that is not such an encoding is an error saying what is wrong.
 */
export function decodeBackedUpMailboxes(text: string): BackedUpMailbox[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`backed-up mailboxes are not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`backed-up mailboxes are not a list: ${shown(parsed)}`);
  const names = new Set<string>();
  return parsed.map((entry: unknown, i) => {
    if (!Array.isArray(entry) || entry.length !== 4) throw new Error(`backed-up mailbox ${i} is not [name, uidvalidity, lastUid, highestModseq]: ${shown(entry)}`);
    const [name, uidvalidity, lastUid, highestModseq] = entry as [string, number, number, number];
    const problem = mailboxProblem(name, uidvalidity, lastUid, highestModseq);
    if (problem) throw new Error(describeProblem(`backed-up mailbox ${i}`, name, problem));
    if (names.has(name)) throw new Error(`backed-up mailbox ${i} has the name of an earlier one: ${shown(name)}`);
    names.add(name);
    return { name, uidvalidity, lastUid, highestModseq };
  });
}
