// Entry of `npm run bench`: builds a synthetic Cyrus backup server, runs the benchmarks on it, prints their tables.
import { parseArgs } from 'node:util';
import { formatCount } from './format.js';
import { benchPrerequisiteProblem } from './prerequisites.js';
import { scanBenchTable } from './scan-bench-table.js';
import { runScanBenchmark } from './scan.js';
import { buildSyntheticBackupServer, type SyntheticBackupServer } from './synthetic-backup-server.js';
import { MAX_CHUNKS } from './synthetic-population.js';
import { wholeNumber } from './options.js';

const USAGE = `usage: npm run bench -- [options]
  --users N                users on the synthetic backup server (default 5000; about a minute in all)
  --rounds N               timed runs of each program, page cache warm (default 5)
  --dropped-cache-rounds N runs of each with the page cache dropped first (default 2; 0 to skip)
  --messages N             messages in each user's index (default 50)
  --dir DIR                where to build the server, on disk (default /var/tmp)
  --keep                   keep the synthetic server afterwards`;

async function main(): Promise<number> {
  let options;
  try {
    const { values } = parseArgs({
      options: {
        users: { type: 'string' },
        rounds: { type: 'string' },
        'dropped-cache-rounds': { type: 'string' },
        messages: { type: 'string' },
        dir: { type: 'string', default: '/var/tmp' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    options = {
      users: wholeNumber('users', values.users, 5000),
      rounds: wholeNumber('rounds', values.rounds, 5),
      droppedCacheRounds: wholeNumber('dropped-cache-rounds', values['dropped-cache-rounds'], 2, 0),
      messages: wholeNumber('messages', values.messages, 50, 0),
      dir: values.dir,
      keep: values.keep,
    };
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const problem = benchPrerequisiteProblem('runs the Cyrus tools as cyrus, owns the files as cyrus, and drops the page cache');
  if (problem) {
    console.error(problem);
    return 2;
  }

  let server: SyntheticBackupServer | undefined;
  // An interrupted run would leave gigabytes of synthetic backups behind.
  process.once('SIGINT', () => {
    if (!options.keep) server?.remove();
    process.exit(130);
  });
  try {
    const started = performance.now();
    server = await buildSyntheticBackupServer({ users: options.users, messagesPerUser: options.messages, parent: options.dir, now: Date.now() });
    const buildSeconds = (performance.now() - started) / 1000;
    const withoutChunk = server.users.filter((u) => u.chunks === 0).length;
    console.log(`Staleness scan (spec §8, first bullet): ${formatCount(options.users)} users in ${server.root}`);
    console.log(
      `  built in ${buildSeconds.toFixed(1)} s: ${formatCount(withoutChunk)} without a chunk, the rest 1-${MAX_CHUNKS} chunks of empty gzip members, ` +
        `${options.messages} messages per index; ctl_backups runs as cyrus, report as root\n`,
    );
    const result = await runScanBenchmark(server, { rounds: options.rounds, droppedCacheRounds: options.droppedCacheRounds });
    console.log(scanBenchTable(result, options.rounds, options.droppedCacheRounds));
    if (result.problems.length > 0) {
      console.error(`\nBROKEN (the figures above are not to be trusted):\n${result.problems.map((p) => `  ${p}`).join('\n')}`);
      return 1;
    }
    return 0;
  } finally {
    if (server && options.keep) console.log(`\nkept the synthetic backup server: ${server.root}`);
    else server?.remove();
  }
}

process.exitCode = await main().catch((err: Error) => {
  console.error(`benchmark broken: ${err.message}`);
  return 1;
});
