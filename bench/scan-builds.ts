// The scan's own cost in this build against another build of this project, on the same files in the same
// run: what a change to the index reader costs (issue 16: reading the mailbox table beside the chunk table).
// Each figure is a fresh process per build, the builds alternated, so that load drifting over the run falls
// on both alike; CPU time is the figure to read on a busy machine, wall time only on an idle one.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchOptions, wholeNumber } from './options.js';
import { Samples } from './samples.js';

const USAGE = `usage: node dist/bench/scan-builds.js --server DIR --before DIST [--rounds N]
  --server DIR   a synthetic backup server kept by \`npm run bench -- --keep\` (its imapd.conf and data/)
  --before DIST  the dist/ of another build, e.g. the one before a change:
                   git worktree add ../before <commit> && (cd ../before && npm ci && npx tsc -p .)
  --rounds N     fresh processes per build and measure, alternated (default 10)`;

const HERE = fileURLToPath(import.meta.url);
const THIS_DIST = resolve(HERE, '../..');

interface Options {
  server: string;
  before: string;
  rounds: number;
}

type Measure = 'per-index' | 'first-scan';
interface ChildFigures {
  /** CPU µs per index (per-index), or the first scan's CPU ms (first-scan). */
  cpu: number;
  /** Wall ms of the first scan (first-scan only). */
  wall: number;
}

function dataFilesOf(server: string): string[] {
  const data = join(server, 'data');
  return readdirSync(data).flatMap((d) => readdirSync(join(data, d)).filter((f) => !f.endsWith('.index')).map((f) => join(data, d, f)));
}

/** In a child process: one build's figure, on stdout as JSON. */
async function child(measure: Measure, dist: string, server: string): Promise<void> {
  const load = <T>(path: string) => import(pathToFileURL(join(dist, path)).href) as Promise<T>;
  let figures: ChildFigures;
  if (measure === 'per-index') {
    const { readIndexOf } = await load<{ readIndexOf: (dataFile: string) => { error: unknown } }>('src/backupd/scan-read.js');
    const files = dataFilesOf(server);
    // One round to warm the code and the page cache, then the best of three: the reader's cost, not the JIT's.
    const rounds = new Samples();
    for (let round = 0; round < 4; round++) {
      const started = process.cpuUsage();
      for (const file of files) readIndexOf(file);
      const used = process.cpuUsage(started);
      if (round > 0) rounds.add((used.user + used.system) / files.length);
    }
    figures = { cpu: rounds.min, wall: 0 };
  } else {
    const { BackupServerScanner } = await load<{ BackupServerScanner: new (paths: unknown, cache: unknown) => { scan(): Promise<unknown>; close(): Promise<void> } }>('src/backupd/scan.js');
    const { MemoryScanCache } = await load<{ MemoryScanCache: new () => unknown }>('test/support/memory-scan-cache.js');
    const { backupServerPaths } = await load<{ backupServerPaths: (conf: unknown) => unknown }>('src/config/backup-server.js');
    const { readImapdConf } = await load<{ readImapdConf: (file: string) => unknown }>('src/config/imapd-conf.js');
    const scanner = new BackupServerScanner(backupServerPaths(readImapdConf(join(server, 'imapd.conf'))), new MemoryScanCache());
    const cpu = process.cpuUsage();
    const wall = performance.now();
    await scanner.scan();
    const used = process.cpuUsage(cpu);
    figures = { cpu: (used.user + used.system) / 1000, wall: performance.now() - wall };
    await scanner.close();
  }
  process.stdout.write(JSON.stringify(figures));
}

function runChild(measure: Measure, dist: string, server: string): ChildFigures {
  const r = spawnSync(process.execPath, [HERE, '--child', measure, '--dist', dist, '--server', server], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${measure} with ${dist} failed (exit ${r.status}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as ChildFigures;
}

function parse(): Options | null {
  const { values } = parseArgs({ options: { server: { type: 'string' }, before: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean', default: false } } });
  if (values.help) return null;
  if (!values.server || !values.before) throw new Error('--server and --before are both needed');
  return { server: resolve(values.server), before: resolve(values.before), rounds: wholeNumber('rounds', values.rounds, 10) };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    await child(argv[1] as Measure, argv[3]!, argv[5]!);
    return 0;
  }
  const options = benchOptions(parse, USAGE);
  if (typeof options === 'number') return options;
  const builds = { this: THIS_DIST, before: options.before };
  const figures = {
    perIndex: { this: new Samples(), before: new Samples() },
    firstCpu: { this: new Samples(), before: new Samples() },
    firstWall: { this: new Samples(), before: new Samples() },
  };
  for (let round = 0; round < options.rounds; round++) {
    for (const build of ['before', 'this'] as const) {
      figures.perIndex[build].add(runChild('per-index', builds[build], options.server).cpu);
      const first = runChild('first-scan', builds[build], options.server);
      figures.firstCpu[build].add(first.cpu);
      figures.firstWall[build].add(first.wall);
    }
  }
  const files = dataFilesOf(options.server).length;
  console.log(`The scan, this build (${THIS_DIST}) against ${options.before}: ${files} backups in ${options.server}, ${options.rounds} fresh processes per build and figure, alternated; medians`);
  const row = (label: string, s: { this: Samples; before: Samples }, unit: string, digits: number) =>
    `  ${label.padEnd(40)} before ${s.before.median.toFixed(digits).padStart(8)} ${unit}   this ${s.this.median.toFixed(digits).padStart(8)} ${unit}   this/before ${(s.this.median / s.before.median).toFixed(2)}`;
  console.log(row('CPU per index, one thread, warm', figures.perIndex, 'µs', 1));
  console.log(row('first scan(), CPU (every thread)', figures.firstCpu, 'ms', 0));
  console.log(row('first scan(), wall', figures.firstWall, 'ms', 0));
  return 0;
}

process.exitCode = await main();
