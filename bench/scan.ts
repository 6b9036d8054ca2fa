import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackupServerScanner } from '../src/backupd/scan.js';
import { MemoryScanCache } from '../test/support/memory-scan-cache.js';
import { backupServerPaths } from '../src/config/backup-server.js';
import { readImapdConf } from '../src/config/imapd-conf.js';
import { openStateDb } from '../src/scheduler/state/open-state-db.js';
import { SqliteScanCache } from '../src/scheduler/state/scan-cache-store.js';
import { CYRUS_BIN, cyrusAccount } from './cyrus.js';
import { dropPageCache } from './page-cache.js';
import { Samples } from './samples.js';
import type { SyntheticBackupServer } from './synthetic-backup-server.js';
import { isStaleForCtlBackups } from './synthetic-population.js';
import { runTimed, type TimedRun } from './timed-process.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
/** ctl_backups's `-t`, and our report's --max-age: the synthetic server's population has no age near 24 h. */
const STALE_HOURS = 24;

export type ProcessName = 'report' | 'reportWarm' | 'ctlList' | 'ctlListNoVerify';

/** A program measured as a fresh process, with the userids it reports stale (or without any chunk). */
interface Contender {
  name: ProcessName;
  label: string;
  run(): Promise<TimedRun>;
  staleUserids(stdout: string): string[];
}

export interface ProcessFigures {
  wall: Samples;
  peakRssKb: number[];
}

export interface ScanBenchOptions {
  rounds: number;
  /** Rounds with the page cache dropped before every run; 0 skips them. */
  droppedCacheRounds: number;
  /**
   * Default 24. A server built hours ago has every backup that much older: moving the threshold by as many
   * whole hours keeps it inside the population's empty age band, and both tools do the same work.
   */
  staleHours?: number;
}

export interface ScanBenchResult {
  labels: Record<ProcessName, string>;
  /** Page cache warm: "cold" means a fresh process, not cold files. */
  processes: Record<ProcessName, ProcessFigures>;
  droppedCache: { figures: Record<ProcessName, ProcessFigures> } | { skipped: string };
  inProcess: { firstScanMs: number; repeatScan: Samples };
  staleCounts: { expected: number; ours: { stale: number; missing: number }; ctlList: number; ctlListNoVerify: number };
  /** Something is broken (not merely slow): a tool failed, or the tools disagree about who is stale. */
  problems: string[];
}

/** Spec §8, first bullet: our staleness scan against `ctl_backups list` on the same files in the same run. */
export async function runScanBenchmark(server: SyntheticBackupServer, options: ScanBenchOptions): Promise<ScanBenchResult> {
  const cyrus = cyrusAccount();
  const scratch = server.runDir;
  const staleHours = options.staleHours ?? STALE_HOURS;
  const problems: string[] = [];
  const ctlBackups = (...args: string[]) => () => runTimed(`${CYRUS_BIN}/ctl_backups`, ['-C', server.imapdConf, ...args], { scratch, as: cyrus });
  let ourCounts = { stale: 0, missing: 0 };
  const ourReport = (config: string) => () => runTimed(process.execPath, [CLI, 'report', '--json', '--max-age', `${staleHours}h`, '-c', config], { scratch });
  const ourStaleUserids = (stdout: string) => {
    const report = JSON.parse(stdout) as ReportJson;
    ourCounts = { stale: report.counts.stale, missing: report.counts.missing };
    return reportStaleUserids(report, server.users.length, problems);
  };
  const configs = await reportConfigs(server);
  const contenders: Contender[] = [
    { name: 'report', label: 'report --json', run: ourReport(configs.cold), staleUserids: ourStaleUserids },
    { name: 'reportWarm', label: 'report --json, scheduler ran', run: ourReport(configs.warm), staleUserids: ourStaleUserids },
    { name: 'ctlList', label: `ctl_backups list -t ${staleHours}`, run: ctlBackups('list', '-t', String(staleHours)), staleUserids: ctlListUserids },
    {
      name: 'ctlListNoVerify',
      label: `ctl_backups -V list -t ${staleHours}`,
      run: ctlBackups('-V', 'list', '-t', String(staleHours)),
      staleUserids: ctlListUserids,
    },
  ];
  const now = Date.now();
  const expected = new Set(server.users.filter((u) => isStaleForCtlBackups(u, staleHours, now)).map((u) => u.userid));
  const staleSeen = new Map<ProcessName, string[]>();

  for (const args of [['list'], ['-V', 'list']]) {
    await checkCtlBackupsListsEveryone(server, args, ctlBackups(...args)).catch((err: Error) => problems.push(err.message));
  }

  const measure = async (contender: Contender, figures: ProcessFigures) => {
    const run = await contender.run();
    if (run.code !== 0) {
      problems.push(`${contender.label} exited ${run.code}: ${firstLine(run.stderr)}`);
      return;
    }
    figures.wall.add(run.wallMs);
    figures.peakRssKb.push(run.peakRssKb);
    const stale = contender.staleUserids(run.stdout);
    staleSeen.set(contender.name, stale);
    const disagreement = compareSets(stale, expected);
    if (disagreement) problems.push(`${contender.label}: ${disagreement}`);
  };

  const processes = emptyFigures();
  for (let round = 0; round < options.rounds; round++) {
    // Interleaved, so that a slow moment of the machine does not land on one contender only.
    for (const contender of contenders) await measure(contender, processes[contender.name]);
  }

  const inProcess = await measureInProcessScans(server, options.rounds, problems);

  const droppedCache = await measureWithDroppedCache(contenders, options.droppedCacheRounds, measure);

  return {
    labels: Object.fromEntries(contenders.map((c) => [c.name, c.label])) as Record<ProcessName, string>,
    processes,
    droppedCache,
    inProcess,
    staleCounts: {
      expected: expected.size,
      ours: ourCounts,
      ctlList: staleSeen.get('ctlList')?.length ?? 0,
      ctlListNoVerify: staleSeen.get('ctlListNoVerify')?.length ?? 0,
    },
    problems: [...new Set(problems)],
  };
}

/**
 * Two configs for the same backup server. Cold: no scheduler has run (no state database), so the report
 * reads every index. Warm: a scheduler has scanned (its state database holds the scan cache, written here
 * untimed as `run` writes it), so the report stats every index and reads none.
 */
async function reportConfigs(server: SyntheticBackupServer): Promise<{ cold: string; warm: string }> {
  const config = (name: string, state: string) => {
    const file = join(server.runDir, name);
    writeFileSync(file, `backupd:\n  imapdConf: ${server.imapdConf}\nstate: ${state}\n`);
    return file;
  };
  const coldState = join(server.runDir, 'no-scheduler-state.db');
  rmSync(coldState, { force: true });
  const warmState = join(server.runDir, 'scheduler-state.db');
  rmSync(warmState, { force: true });
  const db = openStateDb(warmState);
  const scanner = new BackupServerScanner(backupServerPaths(readImapdConf(server.imapdConf)), new SqliteScanCache(db));
  try {
    await scanner.scan();
  } finally {
    await scanner.close();
    db.close();
  }
  return { cold: config('report-cold.yaml', coldState), warm: config('report-warm.yaml', warmState) };
}

/** Not timed: `list` without `-t` must list every user, or the synthetic server is not one Cyrus accepts. */
async function checkCtlBackupsListsEveryone(server: SyntheticBackupServer, args: readonly string[], listAll: () => Promise<TimedRun>): Promise<void> {
  const run = await listAll();
  const listed = ctlListUserids(run.stdout);
  if (run.code !== 0 || listed.length !== server.users.length) {
    throw new Error(`ctl_backups ${args.join(' ')} exited ${run.code} listing ${listed.length} of ${server.users.length} users: ${firstLine(run.stderr)}`);
  }
}

/** Every contender once per round, each right after the page cache was emptied: files, binaries and all. */
async function measureWithDroppedCache(
  contenders: readonly Contender[],
  rounds: number,
  measure: (contender: Contender, figures: ProcessFigures) => Promise<void>,
): Promise<ScanBenchResult['droppedCache']> {
  if (rounds === 0) return { skipped: 'not asked for (--dropped-cache-rounds 0)' };
  const figures = emptyFigures();
  for (let round = 0; round < rounds; round++) {
    for (const contender of contenders) {
      const drop = dropPageCache();
      if (!drop.dropped) return { skipped: `dropping the page cache is not permitted here (${drop.reason})` };
      await measure(contender, figures[contender.name]);
    }
  }
  return { figures };
}

/** The scheduler's view: one scanner kept alive, so the second scan only stats the indexes. */
async function measureInProcessScans(server: SyntheticBackupServer, rounds: number, problems: string[]): Promise<ScanBenchResult['inProcess']> {
  const scanner = new BackupServerScanner(backupServerPaths(readImapdConf(server.imapdConf)), new MemoryScanCache());
  try {
    let started = performance.now();
    await scanner.scan();
    const firstScanMs = performance.now() - started;
    const repeatScan = new Samples();
    for (let round = 0; round < rounds; round++) {
      started = performance.now();
      const view = await scanner.scan();
      repeatScan.add(performance.now() - started);
      const { indexesReused, users } = scanner.lastStats;
      if (view.entries.length !== server.users.length || indexesReused !== users) {
        problems.push(`repeat scan(): ${view.entries.length} entries, ${indexesReused} indexes reused; expected ${server.users.length} of each`);
      }
    }
    return { firstScanMs, repeatScan };
  } finally {
    await scanner.close();
  }
}

/** `ctl_backups list` prints `timestamp TAB bytes TAB userid TAB path` per backup. */
function ctlListUserids(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t')[2] ?? `(unparsable line: ${line})`);
}

interface ReportJson {
  counts: { stale: number; missing: number };
  users: Array<{ userid: string; state: string }>;
}

/** What `-t` lists: stale, and missing (a backup without any chunk, which ctl_backups shows as `[unknown]`). */
function reportStaleUserids(report: ReportJson, userCount: number, problems: string[]): string[] {
  if (report.users.length !== userCount) problems.push(`report --json lists ${report.users.length} users, expected ${userCount}`);
  const unexpected = report.users.filter((u) => !['fresh', 'stale', 'missing'].includes(u.state));
  if (unexpected.length > 0) problems.push(`report --json: ${unexpected.length} users ${unexpected[0]!.state}, e.g. ${unexpected[0]!.userid}`);
  return report.users.filter((u) => u.state === 'stale' || u.state === 'missing').map((u) => u.userid);
}

function compareSets(actual: readonly string[], expected: ReadonlySet<string>): string | null {
  const got = new Set(actual);
  const extra = [...got].filter((userid) => !expected.has(userid));
  const lacking = [...expected].filter((userid) => !got.has(userid));
  if (extra.length === 0 && lacking.length === 0 && got.size === actual.length) return null;
  return `lists ${actual.length} stale users, expected ${expected.size} (${extra.length} unexpected, e.g. ${extra[0] ?? '-'}; ${lacking.length} left out, e.g. ${lacking[0] ?? '-'})`;
}

function emptyFigures(): Record<ProcessName, ProcessFigures> {
  const figures = () => ({ wall: new Samples(), peakRssKb: [] });
  return { report: figures(), reportWarm: figures(), ctlList: figures(), ctlListNoVerify: figures() };
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
