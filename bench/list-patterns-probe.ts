// Does Cyrus take LIST-EXTENDED's several patterns (RFC 5258) and answer exactly the mailboxes of the users
// named, under each naming the tool supports? Prints the raw answers, so what the cost benchmark's variant
// (c) relies on is written down from the server rather than from the RFC. Not a test: it only shows.
// Usage: node dist/bench/list-patterns-probe.js [--release 3.6|3.10]
// What it showed, identically on 3.6.1 and 3.10.2: without virtdomains `("user.anne" "user.anne.*")` (or
// '/') is exact, every mailbox once even where patterns overlap. With virtdomains Cyrus's glob lets `*` run
// across the '@': a default-domain user's pair also returns other domains' `user.anne.X@dom` folders, and the
// INBOX `user.anne` goes missing when such a folder was listed just before it; `"user.anne"` alone comes back
// `\NonExistent \HasChildren` with another mailbox's STATUS. Under the '.' separator `user.anne@example.com`
// also matches example.com.au's names, as \NonExistent duplicates carrying their STATUS.
import { parseArgs } from 'node:util';
import { isReleaseName } from '../test/cyrus/releases.js';
import { CyrusTestBed, type TestBedOptions } from '../test/cyrus/testbed.js';
import { STATUS_ITEMS } from './list-status-commands.js';

interface Naming {
  label: string;
  options: TestBedOptions;
  users: string[];
  /** Commands to send as the admin. */
  commands: string[];
}

const ITEMS = `RETURN (STATUS (${STATUS_ITEMS}))`;

function listing(patterns: string): string {
  return `LIST "" ${patterns}`;
}

/** Users in the default domain and in others, with namesakes, to see which patterns leak across '@'. */
const DOMAIN_USERS = ['anne', 'bob', 'zed', 'anne@example.com', 'annette@example.com', 'anne@example.com.au', 'zed@zz.org'];

function domainCommands(s: '.' | '/'): string[] {
  return [
    `("user${s}anne@example.com" "user${s}anne${s}*@example.com") ${ITEMS}`,
    `("user${s}bob" "user${s}bob${s}*") ${ITEMS}`,
    // A default-domain user whose local part also lives in a domain sorting before "user" (example.com) ...
    `("user${s}anne" "user${s}anne${s}*") ${ITEMS}`,
    `"user${s}anne" ${ITEMS}`,
    // ... and in one sorting after it (zz.org).
    `("user${s}zed" "user${s}zed${s}*") ${ITEMS}`,
  ].map(listing).concat(
    // The default-domain INBOX asked for alone, to compare with what the LISTs said about it.
    `STATUS "user${s}anne" (${STATUS_ITEMS})`,
  );
}

const NAMINGS: Naming[] = [
  {
    label: '"." separator',
    options: {},
    users: ['anne', 'annette', 'anne.smith', 'bob'],
    commands: [
      `("user.anne" "user.anne.*" "user.bob" "user.bob.*") ${ITEMS}`,
      // A dotted userid is user.anne^smith: its own pair selects it, anne's does not.
      `("user.anne^smith" "user.anne^smith.*") ${ITEMS}`,
      // Overlapping patterns: is a mailbox both match listed once or twice?
      `("user.anne" "user.anne.*" "user.anne*") RETURN (STATUS (SIZE))`,
      `("user.nosuch" "user.nosuch.*") ${ITEMS}`,
    ].map(listing),
  },
  {
    label: '"/" separator',
    options: { unixHierarchySep: true },
    users: ['anne', 'annette', 'anne.smith', 'bob'],
    commands: [`("user/anne" "user/anne/*" "user/bob" "user/bob/*") ${ITEMS}`, `("user/anne.smith" "user/anne.smith/*") ${ITEMS}`].map(listing),
  },
  { label: '"." separator, virtdomains, default domain example.org', options: { virtDomains: true }, users: DOMAIN_USERS, commands: domainCommands('.') },
  {
    label: '"/" separator, virtdomains, default domain example.org',
    options: { unixHierarchySep: true, virtDomains: true },
    users: DOMAIN_USERS,
    commands: domainCommands('/'),
  },
];

async function probe(naming: Naming, release: '3.6' | '3.10'): Promise<void> {
  const bed = await CyrusTestBed.start({ ...naming.options, release });
  try {
    // Each user's INBOX holds as many messages as its position in the list, so a STATUS shows whose it is.
    for (const [i, userid] of naming.users.entries()) await bed.createUser(userid, { folders: ['Sent', 'Trash'], messages: i + 1, messageBytes: 500 });
    const client = await bed.connect();
    try {
      const messages = naming.users.map((userid, i) => `${userid} ${i + 1}`).join(', ');
      console.log(`\n=== ${release}, ${naming.label}; each user has INBOX, Sent, Trash; INBOX messages: ${messages} ===`);
      for (const command of naming.commands) {
        const response = await client.command(command);
        console.log(`C: ${command}`);
        for (const line of response.untagged) console.log(`S: ${line}`);
        console.log(`S: ${response.status} ${response.text}`);
      }
    } finally {
      await client.logout();
    }
  } finally {
    await bed.stop();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { release: { type: 'string', default: '3.6' } } });
  const release = values.release!;
  if (!isReleaseName(release) || release === '3.12') {
    console.error(`usage: node dist/bench/list-patterns-probe.js [--release 3.6|3.10], not "${release}"`);
    return 2;
  }
  for (const naming of NAMINGS) await probe(naming, release);
  return 0;
}

process.exitCode = await main();
