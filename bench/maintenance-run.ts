// How long a backup server's upkeep takes (issue 18): `ctl_backups verify` and `compact` on real backups
// made by real XBACKUPs on the test bed, per backup (wall, CPU, and how long backupd is locked out of that
// user, watched in /proc/locks), against `ctl_backups list` of the same backups; then a day's share on a
// server of --fleet users (verification every --verify-every-days, compaction of backups over
// --compact-chunks chunks), extrapolated from the per-backup figures, for sizing maintenance.window.
// Not a test: nothing is asserted.
import { appendFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { CyrusTestBed } from '../test/cyrus/testbed.js';
import { buildFleet, type Group } from './maintenance-fleet.js';
import { MaintenanceMeasurer, type LockProbe, type UserFigures } from './maintenance-measure.js';
import { maintenanceTable, type Projection } from './maintenance-table.js';
import { benchOptions, wholeNumber } from './options.js';
import { PYTHON, python3Available } from './rusage-process.js';
import { brokenFiguresExit, rootProblem } from './prerequisites.js';

const USAGE = `usage: npm run bench:maintenance -- [options]
  --users N               users backed up on the test bed and measured (default 100; about 1 s each to build and measure on a loaded 2-core machine)
  --hot-percent N         of them, hot users with many chunks (default 10)
  --message-kb N          size of each message, random so it does not compress (default 32; 10–40 a user, 1 more every other refresh)
  --rounds N              refreshes of every user after its first backup: chunks ≈ N + 1 (default 10)
  --hot-rounds N          more refreshes of the hot users (default 100: over the default threshold)
  --large N               large users, refreshed like typical ones, for the fit of cost per MiB (default 4)
  --large-mib N           each large user's mail (default 64: a data file of ~50 MiB)
  --compact-minsize KB    backupd's backup_compact_minsize for compact (default 0, Cyrus's: no merging)
  --fleet N               the server a day's share is projected to (default 10000)
  --verify-every-days N   every backup verified this often (default 30)
  --compact-chunks N      a backup is compacted once over this many chunks (default 100)
  --chunks-per-day N      chunks a typical user gains a day (default 1: policy.maxAge 24h)
  --hot-chunks-per-day N  chunks a hot user gains a day (default 24)
  --backup-mib N          project to backups of N MiB, by the fitted cost per MiB (default: at the measured sizes)`;

function parseOptions() {
  const names = ['message-kb', 'users', 'hot-percent', 'rounds', 'hot-rounds', 'large', 'large-mib', 'compact-minsize', 'fleet', 'verify-every-days', 'compact-chunks', 'chunks-per-day', 'hot-chunks-per-day', 'backup-mib'];
  const { values } = parseArgs({
    options: { ...Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])), help: { type: 'boolean', default: false } },
  });
  if (values.help) return undefined;
  const text = (name: string) => (values as Record<string, string | boolean | undefined>)[name] as string | undefined;
  const users = wholeNumber('users', text('users'), 100, 2);
  const hotPercent = wholeNumber('hot-percent', text('hot-percent'), 10, 0);
  if (hotPercent > 100) throw new Error(`--hot-percent expects at most 100, got ${hotPercent}`);
  return {
    users,
    hot: Math.round((users * hotPercent) / 100),
    messageKb: wholeNumber('message-kb', text('message-kb'), 32),
    large: wholeNumber('large', text('large'), 4, 0),
    largeMib: wholeNumber('large-mib', text('large-mib'), 64),
    rounds: wholeNumber('rounds', text('rounds'), 10, 0),
    hotRounds: wholeNumber('hot-rounds', text('hot-rounds'), 100, 0),
    compactMinsizeKb: wholeNumber('compact-minsize', text('compact-minsize'), 0, 0),
    fleet: wholeNumber('fleet', text('fleet'), 10_000),
    verifyEveryDays: wholeNumber('verify-every-days', text('verify-every-days'), 30),
    compactChunks: wholeNumber('compact-chunks', text('compact-chunks'), 100, 2),
    chunksPerDay: wholeNumber('chunks-per-day', text('chunks-per-day'), 1),
    hotChunksPerDay: wholeNumber('hot-chunks-per-day', text('hot-chunks-per-day'), 24),
    backupMib: text('backup-mib') === undefined ? undefined : wholeNumber('backup-mib', text('backup-mib'), 1),
  };
}

function prerequisiteProblem(): string | undefined {
  const root = rootProblem('starts Cyrus on the test bed and runs ctl_backups as its owner');
  if (root) return root;
  if (!python3Available()) return `${PYTHON} is missing (apt-get install -y python3): it reads each ctl_backups run's CPU time from wait4(2)`;
  return undefined;
}

function load(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

function machine(bed: CyrusTestBed): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}, Cyrus ${bed.releases.backup} backupd, backups on ${bed.dir}`;
}

/** Typical and hot users alternated, so a change in the machine's load falls on both groups alike. */
function interleave(typical: readonly string[], hot: readonly string[]): Array<{ userid: string; group: Group }> {
  const order: Array<{ userid: string; group: Group }> = [];
  const step = hot.length === 0 ? Infinity : typical.length / hot.length;
  let h = 0;
  for (const [i, userid] of typical.entries()) {
    while (h < hot.length && h * step <= i) order.push({ userid: hot[h++]!, group: 'hot' });
    order.push({ userid, group: 'typical' });
  }
  while (h < hot.length) order.push({ userid: hot[h++]!, group: 'hot' });
  return order;
}

async function main(): Promise<number> {
  const options = benchOptions(parseOptions, USAGE);
  if (typeof options === 'number') return options;
  const problem = prerequisiteProblem();
  if (problem) {
    console.error(problem);
    return 2;
  }
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  const bed = await CyrusTestBed.start({ release: '3.6' });
  try {
    if (options.compactMinsizeKb > 0) appendFileSync(bed.backup.confPath, `backup_compact_minsize: ${options.compactMinsizeKb}\n`);
    console.log(`maintenance bench: machine ${machine(bed)}; load average ${load()} at the start`);
    // One more hot user than measured: the lock probe compacts it with XBACKUPs running against it.
    const withProbe = options.hot > 0 ? options.hot + 1 : 0;
    const fleet = await buildFleet(
      bed,
      { messageBytes: options.messageKb * 1024, typical: options.users - options.hot, hot: withProbe, large: options.large, largeBytes: options.largeMib * 2 ** 20, rounds: options.rounds, hotRounds: options.hotRounds },
      (line) => console.log(`${elapsed()} ${line}; load ${load()}`),
    );
    await bed.disconnect();
    const paths = await bed.cyrDbtoolShowBackupsDb();
    const pathOf = (userid: string) => {
      const path = paths.get(userid);
      if (path === undefined) throw new Error(`backups.db has no backup of ${userid} after its XBACKUPs`);
      return path;
    };
    const probeUser = fleet.hot.at(-1);
    const measured = [...interleave(fleet.typical, fleet.hot.slice(0, -1)), ...fleet.large.map((userid) => ({ userid, group: 'large' as const }))];
    const measurer = new MaintenanceMeasurer(bed);
    const figures: UserFigures[] = [];
    for (const [i, { userid, group }] of measured.entries()) {
      figures.push(await measurer.measure(userid, group, pathOf(userid)));
      if ((i + 1) % 20 === 0 || i + 1 === measured.length) console.log(`${elapsed()} measured ${i + 1}/${measured.length}; load ${load()}`);
    }
    let probe: LockProbe | undefined;
    if (probeUser !== undefined) probe = await measurer.probe(probeUser);

    const projection: Projection = {
      fleet: options.fleet,
      hotShare: options.hot / options.users,
      verifyEveryDays: options.verifyEveryDays,
      compactChunks: options.compactChunks,
      chunksPerDay: options.chunksPerDay,
      hotChunksPerDay: options.hotChunksPerDay,
      backupMib: options.backupMib,
    };
    console.log(
      `\n${options.users} users measured (${options.hot} hot) and ${options.large} large ones of ${options.largeMib} MiB, each backed up ${options.rounds + 1} times` +
        ` (10–40 random messages of ${options.messageKb} KiB first, 1 more every other refresh)` +
        `${options.hot ? `, hot ones ${options.hotRounds} more` : ''}; backup_compact_minsize ${options.compactMinsizeKb} KB; ` +
        `each tool a fresh process as Cyrus's user; lock time = the data file's POSIX lock held in /proc/locks (polled every ~1 ms)\n`,
    );
    console.log(maintenanceTable(figures, probe, projection));
    console.log(
      `\nextrapolated: ${options.fleet} users, ${Math.round(projection.hotShare * 100)}% hot as measured; verify: the measured mix's mean per backup; ` +
        `compaction: users reach ${options.compactChunks} chunks at ${options.chunksPerDay} (hot: ${options.hotChunksPerDay}) a day, ` +
        `each costing what a measured hot backup did. verify and compact read the whole data file: for real sizes give --backup-mib.`,
    );
    if (probe) console.log(`probe: backupd's answer to the XBACKUP of ${probe.userid} while compacted: ${probe.firstRefusal || '(none: never refused)'}`);
    if (measurer.unseenLocks.length > 0) {
      console.log(`locks no poll saw (held under ~1 ms, counted as 0): ${measurer.unseenLocks.length} of ${figures.length * 4} runs (${measurer.unseenLocks.slice(0, 5).join(', ')}${measurer.unseenLocks.length > 5 ? ', …' : ''})`);
    }
    console.log(`finished in ${elapsed()}; load average ${load()} at the end`);
    return brokenFiguresExit(measurer.problems);
  } finally {
    await bed.stop();
  }
}

process.exitCode = await main().catch((error: Error) => {
  console.error(`benchmark broken: ${error.stack ?? error.message}`);
  return 1;
});
