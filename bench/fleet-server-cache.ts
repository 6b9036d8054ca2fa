// A synthetic backup server of 100,000 users takes minutes to build: it is kept between runs, one per
// set of parameters, and reopened when a finished build with the same parameters is there.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHUNK_DISTRIBUTION, REALISTIC_CHUNKS } from './fleet-population.js';
import { buildSyntheticBackupServer, syntheticServerAt, type SyntheticBackupServer } from './synthetic-backup-server.js';
import { syntheticPopulation } from './synthetic-population.js';

/** Written last: a folder without it is an interrupted build, removed and built again. */
const BUILD_RECORD = 'fleet-build.json';
const HOUR = 3_600_000;

export type CacheMode = 'reuse' | 'rebuild' | 'reuse-only';

export interface FleetServerOptions {
  users: number;
  messagesPerUser: number;
  /** Parent of the cached servers, on disk and searchable by the cyrus user. */
  cacheDir: string;
  mode: CacheMode;
}

interface BuildRecord {
  users: number;
  messagesPerUser: number;
  chunks: string;
  builtAt: number;
  seconds: number;
}

export interface FleetServer {
  server: SyntheticBackupServer;
  reused: boolean;
  builtAt: number;
  buildSeconds: number;
  /** Every user's index is a copy of its chunk count's template. */
  indexBytes: number;
}

export async function fleetServer(options: FleetServerOptions): Promise<FleetServer> {
  const name = `users-${options.users}-messages-${options.messagesPerUser}-${CHUNK_DISTRIBUTION}`;
  const root = join(options.cacheDir, name);
  const record = readBuildRecord(root);
  if (record && options.mode !== 'rebuild') {
    // The population is a pure function of count, build time and seed: the same users the files hold.
    const users = syntheticPopulation(options.users, record.builtAt, REALISTIC_CHUNKS);
    const server = syntheticServerAt(root, users);
    return { server, reused: true, builtAt: record.builtAt, buildSeconds: record.seconds, indexBytes: indexBytes(server) };
  }
  if (options.mode === 'reuse-only') throw new Error(`--skip-build: there is no finished build in ${root} (run without --skip-build to build it)`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(options.cacheDir, { recursive: true, mode: 0o755 });
  const builtAt = Date.now();
  const started = performance.now();
  const server = await buildSyntheticBackupServer({
    users: options.users,
    messagesPerUser: options.messagesPerUser,
    parent: options.cacheDir,
    now: builtAt,
    chunkCounts: REALISTIC_CHUNKS,
    name,
  });
  const seconds = (performance.now() - started) / 1000;
  const built: BuildRecord = { users: options.users, messagesPerUser: options.messagesPerUser, chunks: CHUNK_DISTRIBUTION, builtAt, seconds };
  writeFileSync(join(root, BUILD_RECORD), `${JSON.stringify(built)}\n`);
  return { server, reused: false, builtAt, buildSeconds: seconds, indexBytes: indexBytes(server) };
}

function indexBytes(server: SyntheticBackupServer): number {
  const sizes = new Map<number, number>();
  const sizeOf = (chunks: number) => sizes.get(chunks) ?? sizes.set(chunks, statSync(join(server.root, 'template', `chunks-${chunks}.index`)).size).get(chunks)!;
  return server.users.reduce((sum, u) => sum + sizeOf(u.chunks), 0);
}

/**
 * The population leaves no backup aged 22-26 h at build time. Hours later every age has grown by as much,
 * and the threshold moves with it (in whole hours, as ctl_backups -t takes them), so it stays in that band.
 */
export function staleHoursFor(builtAt: number, now: number): number {
  return 24 + Math.round((now - builtAt) / HOUR);
}

function readBuildRecord(root: string): BuildRecord | null {
  const file = join(root, BUILD_RECORD);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as BuildRecord;
}
