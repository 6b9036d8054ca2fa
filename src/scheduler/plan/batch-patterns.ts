// Covers the users of one server that may be backed up now with as few XBACKUP patterns as
// possible, none of which matches any other user of that server (spec §4, cyrus-facts §2, §9.5).
//
// XBACKUP keeps only the user INBOXes a pattern matches, so `P*` backs up exactly the users whose
// INBOX name starts with P, and a pattern without a wildcard exactly the user with that name.
// Over the sorted INBOX names that is a trie: a subtree whose users may all be covered is one
// `prefix*`; otherwise a coverable user at a node gets its exact name and the children are
// covered in turn. Subtrees are nested, so taking the largest all-coverable ones gives the
// fewest prefix patterns.
import { encodeModifiedUtf7, findLoneSurrogate } from '../../cyrus-names/modified-utf7.js';
import type { MailboxNaming } from '../../imap/mailbox-names.js';

/** One XBACKUP pattern and exactly the users it backs up. */
export interface PatternBatch {
  pattern: string;
  userids: string[];
}

export interface BatchServer {
  naming: MailboxNaming;
  /** Every userid the server has an INBOX for: the patterns match none of them but the allowed users. */
  allUserids: readonly string[];
}

// What a command costs, measured on Cyrus 3.6 (cyrus-facts §2): the backupd connection and login
// of each XBACKUP, and each unchanged user it covers. Only their ratio matters here.
const COMMAND_COST = 48;
const USER_COST = 2.4;

/**
 * The commands that back up exactly the `allowed` users of `server`, given as userid → INBOX
 * name (useridToMailbox's, so known to be fit for the wire). The fewest patterns are split
 * further when that lets `parallelSlots` connections finish the work sooner. Order: by INBOX
 * name, then due users the discovered list lacks.
 */
export function batchPatterns(server: BatchServer, allowed: ReadonlyMap<string, string>, parallelSlots: number): PatternBatch[] {
  if (allowed.size === 0) return [];
  const exactly = (userid: string): PatternBatch => ({ pattern: allowed.get(userid)!, userids: [userid] });
  const listed = new Set(server.allUserids);
  // A due user the discovered list lacks means the list is behind the server: a wildcard near
  // that user could reach others the list lacks too, so it gets its exact name, and no
  // wildcard may match it.
  const unlisted = [...allowed.keys()].filter((userid) => !listed.has(userid)).sort();
  const inboxes = serverInboxes(server.naming, listed, allowed, unlisted);
  if (inboxes === null) return [...allowed.keys()].sort().map(exactly);
  const trie = new InboxTrie(inboxes);
  const commands = spreadOverSlots(trie, trie.cover(trie.root()), parallelSlots);
  return [...commands.sort((a, b) => a.lo - b.lo).map((node) => trie.toBatch(node)), ...unlisted.map(exactly)];
}

interface Inbox {
  name: string;
  userid: string;
  /** May a pattern cover it: due now, and on the discovered list. */
  coverable: boolean;
}

/**
 * The INBOX names of every user on the server and of the unlisted due users, sorted by name;
 * null when one of them cannot be named (then only exact names are safe).
 */
function serverInboxes(
  naming: MailboxNaming,
  listed: ReadonlySet<string>,
  allowed: ReadonlyMap<string, string>,
  unlisted: readonly string[],
): Inbox[] | null {
  const inboxes: Inbox[] = [];
  for (const userid of [...listed, ...unlisted]) {
    const name = allowed.get(userid) ?? inboxNameOfAnyUser(userid, naming);
    if (name === null) return null;
    inboxes.push({ name, userid, coverable: allowed.has(userid) && listed.has(userid) });
  }
  return inboxes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The INBOX name of a user we must not touch, spelled as useridToMailbox spells it but without
 * its wire checks: they cost most of a cycle's planning time for thousands of users, and a
 * userid they refuse (a '*', say: Cyrus allows it, XBACKUP cannot name it alone) must still never
 * be swept in. Null only for a userid no mailbox name can spell (a lone UTF-16 surrogate).
 */
export function inboxNameOfAnyUser(userid: string, naming: MailboxNaming): string | null {
  const at = userid.lastIndexOf('@');
  const localPart = at < 0 ? userid : userid.slice(0, at);
  const domain = at < 0 ? '' : userid.slice(at);
  const shownLocalPart = naming.separator === '.' ? localPart.replaceAll('.', '^') : localPart;
  return findLoneSurrogate(userid) >= 0 ? null : encodeModifiedUtf7(`user${naming.separator}${shownLocalPart}${domain}`);
}

/** The names in [lo, hi) are exactly the server's INBOX names that start with `prefix`. */
interface TrieNode {
  lo: number;
  hi: number;
  prefix: string;
}

/** A compressed trie over sorted INBOX names, as ranges of the sorted array. */
class InboxTrie {
  private readonly names: string[];
  /** coverableBefore[i]: how many of the first i names a pattern may cover. */
  private readonly coverableBefore: Int32Array;

  constructor(private readonly inboxes: readonly Inbox[]) {
    this.names = inboxes.map((inbox) => inbox.name);
    this.coverableBefore = new Int32Array(inboxes.length + 1);
    inboxes.forEach((inbox, i) => (this.coverableBefore[i + 1] = this.coverableBefore[i]! + (inbox.coverable ? 1 : 0)));
  }

  root(): TrieNode {
    return this.node(0, this.names.length);
  }

  /** The fewest nodes whose names are all coverable and together are every coverable name. */
  cover(node: TrieNode): TrieNode[] {
    const coverable = this.coverableIn(node);
    if (coverable === 0) return [];
    if (coverable === node.hi - node.lo) return [node];
    const { terminal, children } = this.split(node);
    const covered = terminal !== null && this.inboxes[terminal.lo]!.coverable ? [terminal] : [];
    for (const child of children) covered.push(...this.cover(child));
    return covered;
  }

  /** A node's parts: the user whose name is the prefix itself, if any, and the subtrees below it. */
  split(node: TrieNode): { terminal: TrieNode | null; children: TrieNode[] } {
    const { names } = this;
    const start = node.prefix.length;
    const terminal = names[node.lo] === node.prefix ? this.node(node.lo, node.lo + 1) : null;
    const children: TrieNode[] = [];
    for (let lo = terminal ? node.lo + 1 : node.lo; lo < node.hi; ) {
      const token = names[lo]!.slice(start, tokenEnd(names[lo]!, start));
      let hi = lo + 1;
      while (hi < node.hi && names[hi]!.startsWith(token, start)) hi++;
      children.push(this.node(lo, hi));
      lo = hi;
    }
    return { terminal, children };
  }

  users(node: TrieNode): number {
    return node.hi - node.lo;
  }

  toBatch(node: TrieNode): PatternBatch {
    const userids = this.inboxes.slice(node.lo, node.hi).map((inbox) => inbox.userid);
    // A wildcard for one user would also back up anyone created since the last discovery whose
    // name starts the same (`user.anne*` and a new annette), for no gain: one user, exact name.
    const pattern = userids.length === 1 ? this.names[node.lo]! : `${node.prefix}*`;
    return { pattern, userids };
  }

  private coverableIn(node: TrieNode): number {
    return this.coverableBefore[node.hi]! - this.coverableBefore[node.lo]!;
  }

  /** The node for names[lo, hi), which must be all the names sharing some token prefix. */
  private node(lo: number, hi: number): TrieNode {
    const first = this.names[lo]!;
    const last = this.names[hi - 1]!;
    const shared = lo + 1 === hi ? first.length : commonPrefixLength(first, last);
    return { lo, hi, prefix: first.slice(0, lastTokenBoundary(first, shared)) };
  }
}

/**
 * Splits the largest commands into their parts while that is estimated to finish the work
 * clearly sooner on `slots` parallel connections: with one slot never (each command costs a
 * backupd login); with several, a huge `user.s*` becomes `user.s0*`, `user.s1*`, … so that
 * every slot works. Commands of equal size are split together: splitting one alone gains
 * nothing while the other is as long.
 */
function spreadOverSlots(trie: InboxTrie, commands: TrieNode[], slots: number): TrieNode[] {
  const cost = (node: TrieNode) => COMMAND_COST + USER_COST * trie.users(node);
  const finishTime = (nodes: TrieNode[]) => {
    let total = 0;
    let longest = 0;
    for (const node of nodes) {
      total += cost(node);
      longest = Math.max(longest, cost(node));
    }
    return Math.max(total / slots, longest);
  };
  let current = commands;
  for (;;) {
    const most = current.reduce((largest, node) => Math.max(largest, trie.users(node)), 0);
    if (most < 2) return current;
    const next = current.flatMap((node) => {
      if (trie.users(node) < most) return [node];
      const { terminal, children } = trie.split(node);
      return terminal ? [terminal, ...children] : children;
    });
    // Worth it only when it saves more than a backupd login: every command costs backupd one.
    if (finishTime(current) - finishTime(next) < COMMAND_COST) return current;
    current = next;
  }
}

function commonPrefixLength(a: string, b: string): number {
  const end = Math.min(a.length, b.length);
  let i = 0;
  while (i < end && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

// Names are modified UTF-7 (`user.jos&AOk-`): a pattern must not end inside a `&…-` run, where
// it would not be valid modified UTF-7, so the trie branches on whole runs.
const SHIFT_IN = '&';
const SHIFT_OUT = '-';

/** The end of the character or `&…-` run that starts at `start`. */
function tokenEnd(name: string, start: number): number {
  if (name[start] !== SHIFT_IN) return Math.min(start + 1, name.length);
  const shiftOut = name.indexOf(SHIFT_OUT, start + 1);
  return shiftOut < 0 ? name.length : shiftOut + 1;
}

/** The last position at or before `limit` that is not inside a `&…-` run. */
function lastTokenBoundary(name: string, limit: number): number {
  let boundary = 0;
  for (let i = 0; i < limit; ) {
    i = tokenEnd(name, i);
    if (i <= limit) boundary = i;
  }
  return boundary;
}
