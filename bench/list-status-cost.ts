// What asking Cyrus for every mailbox's state costs (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ SIZE, to
// compare live mailboxes with the backup), to choose when to ask: a full LIST-STATUS listing as discovery sends
// today, the same with the five items, LISTs naming only some users (LIST-EXTENDED patterns), or a STATUS per
// mailbox; each without and with `statuscache: yes`. Measured on a real test bed, then extrapolated to a fleet.
// Not a test: nothing is asserted beyond each sweep returning exactly the mailboxes asked for.
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { isReleaseName, type ReleaseName } from '../test/cyrus/releases.js';
import { CyrusTestBed } from '../test/cyrus/testbed.js';
import { formatCount } from './format.js';
import { connectMeasured } from './imapd-cpu.js';
import { variants } from './list-status-commands.js';
import { measureVariants } from './list-status-measure.js';
import { costModel } from './list-status-model.js';
import { buildPopulation, MAILBOXES_PER_USER } from './list-status-population.js';
import { fleetTable, measuredTable, type Mode } from './list-status-table.js';
import { benchOptions, wholeNumber } from './options.js';
import { brokenFiguresExit, rootProblem } from './prerequisites.js';

const USAGE = `usage: npm run bench:list-status -- [options]
  --users N        users on the bed, ${MAILBOXES_PER_USER} mailboxes each (default 300; about a minute in all;
                   (c) with 1 user/command sends N LISTs that each walk all N×${MAILBOXES_PER_USER} mailboxes, so time grows with N²)
  --release R      the IMAP server's Cyrus release: 3.6 (the host's, default) or 3.10 (the trixie root)
  --rounds N       timed rounds of every variant, warm (default 5)
  --groups LIST    users per LIST command for variant (c), comma-separated (default 1,50,200)
  --fleet-users N  the fleet to extrapolate to (default 100000)`;

const FLEET_MAX_AGES_HOURS = [2, 24];

function parseOptions() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string' },
      release: { type: 'string', default: '3.6' },
      rounds: { type: 'string' },
      groups: { type: 'string' },
      'fleet-users': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  const release = values.release!;
  if (!isReleaseName(release) || release === '3.12') throw new Error(`--release expects 3.6 or 3.10, got "${release}"`);
  const users = wholeNumber('users', values.users, 300);
  const groups = (values.groups ?? '1,50,200').split(',').map((text) => wholeNumber('groups', text.trim(), 1));
  return {
    users,
    release: release as ReleaseName,
    rounds: wholeNumber('rounds', values.rounds, 5),
    // A group larger than the bed would repeat another: the bed's users are the most one command can name.
    groups: [...new Set(groups.map((size) => Math.min(size, users)))].sort((x, y) => x - y),
    fleetUsers: wholeNumber('fleet-users', values['fleet-users'], 100_000),
  };
}

async function main(): Promise<number> {
  const options = benchOptions(parseOptions, USAGE);
  if (typeof options === 'number') return options;
  const problem = rootProblem('starts Cyrus master on the test bed, which needs root');
  if (problem) {
    console.error(problem);
    return 2;
  }
  const loadBefore = os.loadavg()[0]!;
  const bed = await CyrusTestBed.start({ release: options.release });
  const problems: string[] = [];
  try {
    const population = await buildPopulation(bed, options.users);
    const list = variants(population, bed.imap.separator, options.groups);
    const bedSize = { users: options.users, mailboxesPerUser: MAILBOXES_PER_USER };
    const modes: Mode[] = [];
    let version = '';
    for (const statuscache of [false, true]) {
      if (statuscache) {
        // imapd reads imapd.conf once: the bed's restart is how an option is changed (see restartImap).
        fs.appendFileSync(bed.imap.confPath, 'statuscache: yes\n');
        await bed.restartImap();
      }
      const connection = await connectMeasured(bed);
      try {
        version ||= /Cyrus IMAP (\S+)/.exec(connection.client.greeting)?.[1] ?? options.release;
        const figures = await measureVariants(connection, list, options.rounds, problems);
        modes.push({ label: statuscache ? 'yes' : 'no (default)', figures, model: costModel(figures, bedSize, options.groups) });
      } finally {
        await connection.client.logout();
      }
    }
    const mailboxes = population.mailboxCount;
    console.log(
      `LIST-STATUS cost on Cyrus ${version}: ${formatCount(options.users)} users × ${MAILBOXES_PER_USER} = ${formatCount(mailboxes)} mailboxes, ` +
        `${formatCount(population.messageCount)} messages (built in ${(population.buildMs / 1000).toFixed(1)} s with createUser); ` +
        `${options.rounds} warm rounds; load average ${loadBefore.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`,
    );
    console.log('Per 1,000 mailboxes asked for; scan-only rows: per command and 1,000 mailboxes.db entries walked.');
    for (const mode of modes) console.log(`\n${measuredTable(mode, mailboxes)}`);
    const fleet = { users: options.fleetUsers, mailboxesPerUser: MAILBOXES_PER_USER, maxAgesHours: FLEET_MAX_AGES_HOURS };
    console.log(`\n${fleetTable(modes, fleet, options.groups)}`);
    console.log(
      '  (c): every LIST walks all of mailboxes.db (commands × mailboxes × per-pattern cost) plus a STATUS per mailbox found;\n' +
        '  (d) and full listings scale with the mailboxes asked for. statuscache figures are a warm, unchanging cache: its best case.',
    );
    return brokenFiguresExit(problems);
  } finally {
    await bed.stop();
  }
}

process.exitCode = await main().catch((error: Error) => {
  console.error(`benchmark broken: ${error.stack ?? error.message}`);
  return 1;
});
