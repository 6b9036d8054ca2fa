// Entry of `npm run bench:fleet`: spec §8 at fleet scale. A synthetic backup server of 100,000 users
// (cached between runs), the scan against ctl_backups on it, the scheduler's classify and plan over a fake
// discovery of that fleet, and the executor's overhead per XBACKUP against a bare client on the real test bed.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { columns, formatCount, formatDuration, formatRatio, formatRss } from './format.js';
import { describeChunkDistribution, fakeFleet, type FakeFleet } from './fleet-population.js';
import { runFleetSchedulerBenchmark, type FleetSchedulerResult, type Timed } from './fleet-scheduler.js';
import { fleetServer, staleHoursFor, type CacheMode, type FleetServer } from './fleet-server-cache.js';
import { pageoutAfterIdleSeconds } from './page-cache.js';
import { benchPrerequisiteProblem } from './prerequisites.js';
import type { Samples } from './samples.js';
import { scanBenchTable } from './scan-bench-table.js';
import { runScanBenchmark, type ScanBenchResult } from './scan.js';
import { runXbackupOverheadBenchmark, type XbackupOverheadResult } from './xbackup-overhead.js';
import { wholeNumber } from './options.js';

const DEFAULT_CACHE_DIR = '/var/tmp/xbackup-bench-fleet';
const DEFAULT_STATE_DIR = '/var/tmp';
/** Spec §8's fleet-size goals are stated for this many users. */
const GOAL_USERS = 100_000;
const GOALS = { coldMs: 10_000, warmMs: 1_000, rssKb: 300 * 1024, overheadMs: 5 };
const HOUR = 3_600_000;

const USAGE = `usage: npm run bench:fleet -- [options]
  --users N                users on the synthetic backup server (default ${formatCount(GOAL_USERS)}; 0 skips the fleet parts)
  --rounds N               timed rounds of every measurement (default 3)
  --dropped-cache-rounds N scan runs with the page cache dropped first (default 0: it slows everyone on the machine)
  --messages N             messages in each user's index (default 50)
  --xbackup-users N        users on the real test bed for the XBACKUP overhead (default 200; 0 skips it)
  --dir DIR                where synthetic servers are cached, on disk (default ${DEFAULT_CACHE_DIR})
  --state-dir DIR          where the executor's state database goes (default ${DEFAULT_STATE_DIR}, on disk like /var/lib;
                           /dev/shm shows how much of the overhead is its fsyncs)
  --skip-build             only reuse a cached server with these parameters; fail if there is none
  --rebuild                build the server again even if a cached one exists
A cached server is reused by default: ${DEFAULT_CACHE_DIR}/users-<N>-messages-<M>-<chunk distribution>/
(about 115 KB per user, Cyrus's empty index alone being 80 KB: 11-12 GB at 100,000). Remove it with rm -rf when done.`;

interface Options {
  users: number;
  rounds: number;
  droppedCacheRounds: number;
  messages: number;
  xbackupUsers: number;
  dir: string;
  stateDir: string;
  mode: CacheMode;
}

function parseOptions(): Options | 'help' {
  const { values } = parseArgs({
    options: {
      users: { type: 'string' },
      rounds: { type: 'string' },
      'dropped-cache-rounds': { type: 'string' },
      messages: { type: 'string' },
      'xbackup-users': { type: 'string' },
      dir: { type: 'string', default: DEFAULT_CACHE_DIR },
      'state-dir': { type: 'string', default: DEFAULT_STATE_DIR },
      'skip-build': { type: 'boolean', default: false },
      rebuild: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  if (values['skip-build'] && values.rebuild) throw new Error('--skip-build and --rebuild contradict each other');
  return {
    users: wholeNumber('users', values.users, GOAL_USERS, 0),
    rounds: wholeNumber('rounds', values.rounds, 3, 1),
    droppedCacheRounds: wholeNumber('dropped-cache-rounds', values['dropped-cache-rounds'], 0, 0),
    messages: wholeNumber('messages', values.messages, 50, 0),
    xbackupUsers: wholeNumber('xbackup-users', values['xbackup-users'], 200, 0),
    dir: values.dir,
    stateDir: values['state-dir'],
    mode: values['skip-build'] ? 'reuse-only' : values.rebuild ? 'rebuild' : 'reuse',
  };
}

async function main(): Promise<number> {
  let options: Options;
  try {
    const parsed = parseOptions();
    if (parsed === 'help') {
      console.log(USAGE);
      return 0;
    }
    options = parsed;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const problem = benchPrerequisiteProblem('runs the Cyrus tools and the test bed as cyrus, and owns the synthetic files as cyrus');
  if (problem) {
    console.error(problem);
    return 2;
  }
  console.log(`Machine: load average ${loadAverage()} at start (figures on a loaded machine are slower and noisier).`);
  const pageout = pageoutAfterIdleSeconds();
  if (pageout !== null) {
    console.log(
      `Machine: the kernel's DAMON pages out memory unused for ${pageout.toFixed(0)} s. A run over the whole fleet that takes longer finds ` +
        'the indexes it read first gone from the page cache: at that size "page cache warm" is partly disk-bound here.',
    );
  }
  console.log('');

  const problems: string[] = [];
  if (options.users > 0) problems.push(...(await fleetParts(options)));
  if (options.xbackupUsers > 0) {
    const result = await runXbackupOverheadBenchmark({ users: options.xbackupUsers, rounds: options.rounds, parent: options.stateDir });
    console.log(overheadTable(result, options.rounds, options.stateDir));
    problems.push(...result.problems);
  }
  console.log(`\nMachine: load average ${loadAverage()} at the end.`);
  if (problems.length > 0) {
    console.error(`\nBROKEN (the figures above are not to be trusted):\n${problems.map((p) => `  ${p}`).join('\n')}`);
    return 1;
  }
  return 0;
}

/** Parts 1 and 2: the synthetic server, the scan against ctl_backups, and the scheduler's view of the fleet. */
async function fleetParts(options: Options): Promise<string[]> {
  const fleetStarted = performance.now();
  const built = await fleetServer({ users: options.users, messagesPerUser: options.messages, cacheDir: options.dir, mode: options.mode });
  const now = Date.now();
  const staleHours = staleHoursFor(built.builtAt, now);
  const fleet = fakeFleet(built.server.users, now);
  console.log(serverDescription(built, fleet, options, staleHours, (performance.now() - fleetStarted) / 1000));

  const scan = await runScanBenchmark(built.server, { rounds: options.rounds, droppedCacheRounds: options.droppedCacheRounds, staleHours });
  console.log(scanBenchTable(scan, options.rounds, options.droppedCacheRounds));

  const scheduler = await runFleetSchedulerBenchmark(built.server, fleet, { rounds: options.rounds, maxAge: staleHours * HOUR });
  console.log(schedulerTable(scheduler, options.rounds));
  console.log(fleetGoalsTable(scan, scheduler, options.users));
  return [...scan.problems, ...scheduler.problems];
}

function serverDescription(built: FleetServer, fleet: FakeFleet, options: Options, staleHours: number, seconds: number): string {
  const { server } = built;
  const withoutChunk = server.users.filter((u) => u.chunks === 0).length;
  const chunks = server.users.reduce((sum, u) => sum + u.chunks, 0);
  const c = fleet.counts;
  const how = built.reused
    ? `reused (built ${new Date(built.builtAt).toISOString()} in ${built.buildSeconds.toFixed(0)} s; opened in ${seconds.toFixed(1)} s)`
    : `built in ${built.buildSeconds.toFixed(0)} s`;
  return [
    `Fleet of ${formatCount(options.users)} users (spec §8): ${server.root}`,
    `  ${how}; ${formatCount(withoutChunk)} backups without a chunk, ${formatCount(chunks)} chunks in all (${(chunks / server.users.length).toFixed(0)} per user),` +
      ` ${options.messages} messages per index, ${(built.indexBytes / 1024 ** 3).toFixed(1)} GiB of indexes`,
    `  chunks per backed-up user: ${describeChunkDistribution()}`,
    `  fake discovery on imap1 ('.') and imap2 ('/'): ${formatCount(c.discovered)} users, of whom ${formatCount(c.newUsers)} never backed up;` +
      ` ${formatCount(c.orphans)} backups on no server (orphans), on both servers ${c.conflicts}; history: ${c.failing} failing, ${c.inDoubt} in doubt`,
    staleHours === 24
      ? '  stale threshold 24 h'
      : `  stale threshold ${staleHours} h: the server was built ${staleHours - 24} h ago and every backup has aged as much (same work for every tool)`,
    '',
  ].join('\n');
}

const WIDTHS = [48, 11, 40];

function schedulerTable(r: FleetSchedulerResult, rounds: number): string {
  const states = Object.entries(r.states)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${formatCount(n)} ${s}`)
    .join(', ');
  const lines = [
    '',
    `The scheduler in process, ${formatCount(r.users)} users classified against the fake discovery (first run; median, min of ${rounds} more):`,
    `  states: ${states}`,
    repeatRow('  rescan, nothing changed (stat only)', r.rescan),
    timedRow('  classify (backupd view + discovery + memory)', r.classify),
    repeatRow('  warm report: rescan + classify + JSON', r.warmReport),
  ];
  for (const p of r.plans) {
    lines.push(
      timedRow(`  plan, maxPerCycle ${formatCount(p.maxPerCycle)}`, p),
      `      ${formatCount(p.planned)} planned in ${formatCount(p.commands)} commands (largest batch ${formatCount(p.largestBatch)} users), ${formatCount(p.held)} held back`,
    );
  }
  lines.push(
    repeatRow('  verify one XBACKUP, backups.db unchanged', r.verifyOne),
    repeatRow('  verify one XBACKUP, backups.db changed', r.verifyOneReread),
    `      (the executor checks the index after every command; backups.db, ${formatCount(r.backupsDbEntries)} entries, is read again only when it moved,`,
    `      as after a first backup)`,
  );
  return lines.join('\n');
}

function fleetGoalsTable(scan: ScanBenchResult, r: FleetSchedulerResult, users: number): string {
  const report = scan.processes.report;
  const peer = scan.processes.ctlListNoVerify;
  const peerLabel = scan.labels.ctlListNoVerify;
  const judged = users >= GOAL_USERS;
  const verdict = (ok: boolean) => (judged ? (ok ? 'met' : 'MISSED') : `(goal is for ${formatCount(GOAL_USERS)} users)`);
  const peakRss = Math.max(...report.peakRssKb);
  const peerRss = Math.max(...peer.peakRssKb);
  const warm = r.warmReport.median;
  const warmProcess = scan.processes.reportWarm.wall.median;
  // "Warm" as issue 3 times it (the in-process rescan), then the two whole reports a user can ask for warm.
  const rescan = scan.inProcess.repeatScan.median;
  const widths = [34, 10, 28, 10, 8, 18];
  return [
    '',
    `Fleet goals (spec §8, ${formatCount(GOAL_USERS)} users), ours against ${peerLabel} in the same run; goals are reported, never enforced:`,
    columns(['  cold report --json', formatDuration(report.wall.median), peerLabel, formatDuration(peer.wall.median), formatRatio(peer.wall.median / report.wall.median), `goal < ${formatDuration(GOALS.coldMs)}`, verdict(report.wall.median < GOALS.coldMs)], widths),
    columns(['  peak RSS of report --json', formatRss(peakRss), peerLabel, formatRss(peerRss), formatRatio(peerRss / peakRss), `goal < ${formatRss(GOALS.rssKb)}`, verdict(peakRss < GOALS.rssKb)], widths),
    columns(['  warm rescan (in the scheduler)', formatDuration(rescan), peerLabel, formatDuration(peer.wall.median), formatRatio(peer.wall.median / rescan), `goal < ${formatDuration(GOALS.warmMs)}`, verdict(rescan < GOALS.warmMs)], widths),
    columns(['  warm report --json (process)', formatDuration(warmProcess), peerLabel, formatDuration(peer.wall.median), formatRatio(peer.wall.median / warmProcess), `goal < ${formatDuration(GOALS.warmMs)}`, verdict(warmProcess < GOALS.warmMs)], widths),
    columns(['  warm report (in the scheduler)', formatDuration(warm), peerLabel, formatDuration(peer.wall.median), formatRatio(peer.wall.median / warm), `goal < ${formatDuration(GOALS.warmMs)}`, verdict(warm < GOALS.warmMs)], widths),
  ].join('\n');
}

function overheadTable(r: XbackupOverheadResult, rounds: number, stateDir: string): string {
  const overhead = r.tool.wall.median - r.bare.wall.median;
  const widths = [46, 11, 14, 18];
  const row = (label: string, s: { wall: Samples; cpu: Samples }) =>
    columns([label, formatDuration(s.wall.median), `min ${formatDuration(s.wall.min)}`, `own CPU ${formatDuration(s.cpu.median)}`], widths);
  return [
    '',
    `XBACKUP overhead (spec §8, scheduling overhead): ${r.users} users on the real test bed, each already backed up once,`,
    `one XBACKUP per user on one connection; per XBACKUP, median and min of ${rounds} rounds, the two alternating which goes first:`,
    row('  bare client (RawImapClient)', r.bare),
    row('  executor (imapflow, verify, history, log)', r.tool),
    columns(
      [
        '  tool overhead per XBACKUP',
        formatDuration(overhead),
        `ratio ${formatRatio(r.tool.wall.median / r.bare.wall.median)}`,
        `goal < ${GOALS.overheadMs} ms`,
        overhead < GOALS.overheadMs ? 'met' : 'MISSED',
      ],
      widths,
    ),
    `  (the state database, synchronous=FULL, under ${stateDir}; the test bed under /dev/shm)`,
  ].join('\n');
}

function repeatRow(label: string, s: Samples): string {
  return columns([label, formatDuration(s.median), `min ${formatDuration(s.min)}`], WIDTHS);
}

function timedRow(label: string, t: Timed): string {
  return columns([label, formatDuration(t.firstMs), `then ${formatDuration(t.repeat.median)}, min ${formatDuration(t.repeat.min)}`], WIDTHS);
}

function loadAverage(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
}

process.exitCode = await main().catch((err: Error) => {
  console.error(`benchmark broken: ${err.stack ?? err.message}`);
  return 1;
});
