// What comparing backups with the live mailboxes saves (issue 16): the long-lived `run` on the test bed,
// once judging users by age alone ("as today", compareLive: false) and once with the comparison, each for
// the same minutes on the same fleet while the same users get new mail. Counts the XBACKUP commands and
// the chunks they appended, and how long new mail waited for a backup. Not a test: nothing is asserted;
// the goal (≥ 5× fewer commands and chunks, no message waiting past maxAge + a cycle) is printed.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CyrusTestBed } from '../test/cyrus/testbed.js';
import { buildFleet, fleetUserids } from './in-sync-fleet.js';
import { SHARE_PER_MINUTE } from './in-sync-mail.js';
import { MAX_AGE_MS, POLICY, runMode, SCHEDULE_PERIOD_MS, type ModeResult } from './in-sync-mode.js';
import { modeNotes, resultTable } from './in-sync-table.js';
import { benchOptions, wholeNumber } from './options.js';
import { brokenFiguresExit, rootProblem } from './prerequisites.js';

const USAGE = `usage: npm run bench:in-sync -- [options]
  --minutes N   how long \`run\` runs in each mode (default 10; the bench takes about 2N + 5 minutes)
  --users N     users on the bed (default 200)
  --seed N      which users get mail when (default: from the clock; printed, to repeat a run)
  --keep        keep the work folder (configs, state databases, run logs) and print where it is`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      users: { type: 'string' },
      seed: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  return {
    minutes: wholeNumber('minutes', values.minutes, 10),
    users: wholeNumber('users', values.users, 200),
    seed: wholeNumber('seed', values.seed, Date.now() % 2 ** 31, 0),
    keep: values.keep!,
  };
}

function machine(bed: CyrusTestBed): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}, Cyrus ${bed.releases.imap} (host)`;
}

async function main(): Promise<number> {
  const options = benchOptions(parseOptions, USAGE);
  if (typeof options === 'number') return options;
  const problem = rootProblem('starts Cyrus master on the test bed, which needs root');
  if (problem) {
    console.error(problem);
    return 2;
  }
  // On disk, like /var/lib: the state database's writes are part of what `run` costs.
  const workDir = mkdtempSync(join(os.tmpdir(), 'xbs-bench-in-sync-'));
  const bed = await CyrusTestBed.start({ release: '3.6' });
  try {
    const userids = fleetUserids(options.users);
    const built = Date.now();
    await buildFleet(bed, userids);
    // Their first backups out of the way, so `backup '*'` at each mode's start is the same incremental one.
    const first = await bed.xbackup('user.*', 'imap1', { timeoutMs: 600_000 });
    if (first.status !== 'OK') throw new Error(`the first backup of the fleet failed: ${first.status} ${first.text}`);
    console.log(
      `in-sync bench: ${options.users} users (built and first backed up in ${((Date.now() - built) / 1000).toFixed(0)} s), ` +
        `${options.minutes} min per mode; policy schedule "${POLICY.schedule}", maxAge ${POLICY.maxAge}, discoverEvery ${POLICY.discoverEvery}; ` +
        `mail: 1 message to ${Math.round(options.users * SHARE_PER_MINUTE)} random users each minute, seed ${options.seed} (--seed ${options.seed} repeats it)`,
    );
    console.log(`machine: ${machine(bed)}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const modes: ModeResult[] = [];
    for (const [label, compareLive] of [['today (compareLive off)', false], ['comparison', true]] as const) {
      console.log(`${new Date().toISOString()} ${label}: backup '*', then run for ${options.minutes} min`);
      modes.push(await runMode(bed, { label, compareLive, minutes: options.minutes, seed: options.seed, userids, workDir }));
    }
    const [today, compared] = modes as [ModeResult, ModeResult];
    console.log(`\n${resultTable([today, compared])}`);
    console.log(`goal: ≥ 5× fewer commands and chunks, and no message waiting over maxAge + one cycle (${(MAX_AGE_MS + SCHEDULE_PERIOD_MS) / 1000} s)`);
    for (const m of modes) console.log(modeNotes(m));
    console.log(`machine: ${machine(bed)}; load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    if (options.keep) console.log(`work folder kept: ${workDir} (each mode's config.yaml, state.db, run.log)`);
    return brokenFiguresExit(modes.flatMap((m) => m.problems));
  } finally {
    await bed.stop();
    if (!options.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

process.exitCode = await main().catch((error: Error) => {
  console.error(`benchmark broken: ${error.stack ?? error.message}`);
  return 1;
});
