// The ways of asking Cyrus for every mailbox's state that list-status-cost.ts compares, as the commands
// of one sweep over all users, and what each sweep must return.
import type { Population } from './list-status-population.js';

/** What the backup comparison needs per mailbox; SIZE alone is what discovery asks for today. */
export const STATUS_ITEMS = 'MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ SIZE';

export interface Variant {
  key: string;
  label: string;
  commands: string[];
  /** The mailboxes whose STATUS the sweep must return: all of them, or none (scan-only variants). */
  expected: ReadonlySet<string>;
  /** Per 1,000 of what the figures are normalised: mailboxes asked for, or mailboxes.db entries per command. */
  unit: 'mailboxes' | 'scanned entries per command';
}

/** (a) today's discovery, and (b) the same listing with the five items. */
export function fullListing(separator: string, items: string): string {
  return `LIST "" "user${separator}*" RETURN (STATUS (${items}))`;
}

/**
 * (c) only the users named (LIST-EXTENDED's several patterns): each INBOX and its subtree, so `user.anne`
 * never catches `user.annette`. Exact without virtdomains; with them see list-patterns-probe.ts.
 */
export function usersListing(inboxes: readonly string[], separator: string): string {
  const patterns = inboxes.flatMap((inbox) => [`"${inbox}"`, `"${inbox}${separator}*"`]);
  return `LIST "" (${patterns.join(' ')}) RETURN (STATUS (${STATUS_ITEMS}))`;
}

/** (d) one mailbox. */
export function mailboxStatus(mailbox: string): string {
  return `STATUS "${mailbox}" (${STATUS_ITEMS})`;
}

/** Commands that list nothing cost what Cyrus spends finding that out: admin LISTs walk all of mailboxes.db. */
const SCAN_COMMANDS = 10;

export function variants(population: Population, separator: string, groupSizes: readonly number[]): Variant[] {
  const all = new Set([...population.mailboxes.values()].flat());
  const inboxes = population.userids.map((userid) => population.mailboxes.get(userid)![0]!);
  const none = new Set<string>();
  const list: Variant[] = [
    { key: 'a', label: '(a) LIST user.* (SIZE), today', commands: [fullListing(separator, 'SIZE')], expected: all, unit: 'mailboxes' },
    { key: 'b', label: '(b) LIST user.* (5 items)', commands: [fullListing(separator, STATUS_ITEMS)], expected: all, unit: 'mailboxes' },
  ];
  for (const size of groupSizes) {
    const commands: string[] = [];
    for (let i = 0; i < inboxes.length; i += size) commands.push(usersListing(inboxes.slice(i, i + size), separator));
    list.push({ key: `c${size}`, label: `(c) LIST ${size} user${size === 1 ? '' : 's'}/command`, commands, expected: all, unit: 'mailboxes' });
  }
  list.push({ key: 'd', label: '(d) STATUS per mailbox', commands: [...all].map(mailboxStatus), expected: all, unit: 'mailboxes' });
  for (const size of [1, Math.max(...groupSizes)]) {
    const absent = Array.from({ length: size }, (_, i) => `user${separator}absent${String(i + 1).padStart(5, '0')}`);
    list.push({
      key: `scan${size}`,
      label: `(c) LIST ${size} absent user${size === 1 ? '' : 's'}: scan only`,
      commands: Array.from({ length: SCAN_COMMANDS }, () => usersListing(absent, separator)),
      expected: none,
      unit: 'scanned entries per command',
    });
  }
  return list;
}
