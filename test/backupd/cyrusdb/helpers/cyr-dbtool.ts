// Drives Debian's real Cyrus `cyr_dbtool` for tests and the fixture generator.
// It must run as the cyrus user with an imapd.conf whose configdirectory it can
// write, so every workspace is a private temp dir owned by cyrus.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { chown, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { CyrusDbBackend, CyrusDbEntry } from '../../../../src/backupd/cyrusdb/types.js';

export const CYR_DBTOOL = process.env['CYR_DBTOOL'] ?? '/usr/lib/cyrus/bin/cyr_dbtool';
const CYRUS_USER = 'cyrus';

export type BatchCommand =
  | { op: 'SET'; key: Buffer; value: Buffer }
  | { op: 'DELETE'; key: Buffer }
  | { op: 'BEGIN' | 'COMMIT' | 'ABORT' | 'SHOW' };

export interface ToolResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

interface Account {
  uid: number;
  gid: number;
}

/** Why cyr_dbtool cannot be used here, or undefined when it can. */
export function cyrDbToolUnavailableReason(): string | undefined {
  try {
    accessSync(CYR_DBTOOL, constants.X_OK);
  } catch {
    return `cyr_dbtool is not installed at ${CYR_DBTOOL} (Debian package cyrus-common; or set CYR_DBTOOL)`;
  }
  const cyrus = cyrusAccount();
  if (cyrus === undefined) return `there is no '${CYRUS_USER}' user to run cyr_dbtool as`;
  const uid = process.getuid?.();
  if (uid !== 0 && uid !== cyrus.uid) return `cyr_dbtool must run as ${CYRUS_USER}; run the tests as root or as ${CYRUS_USER}`;
  return undefined;
}

function cyrusAccount(): Account | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${CYRUS_USER}:`));
  if (line === undefined) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** IMAP literal syntax, so keys and values are binary-safe in batch input. */
function literal(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{${bytes.length}+}\r\n`), bytes]);
}

/** The stdin of `cyr_dbtool ... batch` for these commands. */
export function batchInput(commands: readonly BatchCommand[]): Buffer {
  const parts: Buffer[] = [];
  for (const command of commands) {
    if (command.op === 'SET') {
      parts.push(Buffer.from('SET '), literal(command.key), Buffer.from(' '), literal(command.value), Buffer.from('\n'));
    } else if (command.op === 'DELETE') {
      parts.push(Buffer.from('DELETE '), literal(command.key), Buffer.from('\n'));
    } else {
      parts.push(Buffer.from(`${command.op}\n`));
    }
  }
  return Buffer.concat(parts);
}

/**
 * Parses what a batch `SHOW` prints: one `KEY SP VALUE LF` per pair, each an
 * IMAP atom, "quoted string" or `{n}CRLF` literal.
 */
/** Feeds a `cyr_dbtool ... batch` writer one transaction at a time, so its commits spread over time; fails unless it exits 0. */
export async function feedTransactions(writer: ChildProcessWithoutNullStreams, transactions: readonly BatchCommand[][]): Promise<void> {
  const stderr: Buffer[] = [];
  writer.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  writer.stdout.resume();
  writer.stdin.on('error', () => undefined); // reported through the exit status instead
  const exited = new Promise<number | null>((resolve) => writer.on('close', resolve));
  for (const transaction of transactions) {
    if (writer.exitCode !== null) break;
    writer.stdin.write(batchInput(transaction));
    await sleep(2);
  }
  writer.stdin.end();
  assert.equal(await exited, 0, `cyr_dbtool failed: ${Buffer.concat(stderr).toString()}`);
}

export function parseShowOutput(output: Buffer): CyrusDbEntry[] {
  const pairs: CyrusDbEntry[] = [];
  let position = 0;
  const readString = (terminator: number): Buffer => {
    let value: Buffer;
    if (output[position] === 0x7b /* { */) {
      const close = output.indexOf(0x7d /* } */, position);
      const length = Number(output.subarray(position + 1, close).toString('latin1'));
      const start = close + 3; // past "}\r\n"
      value = output.subarray(start, start + length);
      position = start + length;
    } else if (output[position] === 0x22 /* " */) {
      const close = output.indexOf(0x22, position + 1);
      value = output.subarray(position + 1, close);
      position = close + 1;
    } else {
      const end = output.indexOf(terminator, position);
      value = output.subarray(position, end);
      position = end;
    }
    if (output[position] !== terminator) throw new Error(`unexpected SHOW output at byte ${position}`);
    position++;
    return value;
  };
  while (position < output.length) {
    const key = readString(0x20);
    const value = readString(0x0a);
    pairs.push({ key, value });
  }
  return pairs;
}

/** A private Cyrus configuration plus scratch space, owned by the cyrus user. */
export class CyrusWorkspace {
  private constructor(
    readonly dir: string,
    private readonly cyrus: Account,
  ) {}

  static async create(): Promise<CyrusWorkspace> {
    const cyrus = cyrusAccount();
    if (cyrus === undefined) throw new Error(`no '${CYRUS_USER}' user`);
    const workspace = new CyrusWorkspace(await mkdtemp(join(tmpdir(), 'cyrusdb-')), cyrus);
    // Two configs, as in the shared fixtures: one whose skiplist recovery stamp
    // (db/skipstamp) never forces recovery, one where every skiplist open recovers first.
    await workspace.writeConfig('imapd.conf', 'conf', 1);
    await workspace.writeConfig('imapd-recover.conf', 'conf-recover', 0x7fffffff);
    await workspace.giveToCyrus(workspace.dir);
    return workspace;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Runs cyr_dbtool as cyrus: `cyr_dbtool -C <conf> [-n] <db> <backend> <action...>`.
   * After `timeoutMs` it is terminated, and the status is null.
   */
  async run(
    db: string,
    backend: CyrusDbBackend,
    action: readonly string[],
    options: { input?: Buffer; create?: boolean; recover?: boolean; timeoutMs?: number } = {},
  ): Promise<ToolResult> {
    const child = this.spawnTool(db, backend, action, options);
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGTERM'), options.timeoutMs);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => undefined); // a tool that dies early closes its stdin
    child.stdin.end(options.input ?? Buffer.alloc(0));
    const status = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code));
    }).finally(() => clearTimeout(timer));
    return { status, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') };
  }

  /** Starts `cyr_dbtool ... batch` with stdin left open, for feeding it over time. */
  spawnBatch(db: string, backend: CyrusDbBackend, options: { create?: boolean } = {}): ChildProcessWithoutNullStreams {
    return this.spawnTool(db, backend, ['batch'], options);
  }

  /** Runs a batch and fails unless cyr_dbtool exits 0. Returns its stdout. */
  async batch(db: string, backend: CyrusDbBackend, commands: readonly BatchCommand[], options: { create?: boolean } = {}): Promise<Buffer> {
    const result = await this.run(db, backend, ['batch'], { input: batchInput(commands), create: options.create });
    if (result.status !== 0) throw new Error(`cyr_dbtool batch on ${db} exited ${result.status}: ${result.stderr}`);
    return result.stdout;
  }

  /**
   * The pairs Cyrus itself shows, read from a scratch copy (cyr_dbtool repairs
   * what it opens). skiplist copies are opened with forced recovery, as a
   * restarted server would.
   */
  async show(db: string, backend: CyrusDbBackend): Promise<CyrusDbEntry[]> {
    const scratch = this.path(`show-${Date.now()}-${Math.random().toString(36).slice(2)}.db`);
    await this.copyIn(db, scratch);
    try {
      const result = await this.run(scratch, backend, ['batch'], {
        input: Buffer.from('SHOW\n'),
        recover: backend === 'skiplist',
      });
      if (result.status !== 0) throw new Error(`cyr_dbtool SHOW on a copy of ${db} exited ${result.status}: ${result.stderr}`);
      return parseShowOutput(result.stdout);
    } finally {
      await rm(scratch, { force: true });
    }
  }

  /** Copies a file into the workspace, owned by cyrus so cyr_dbtool may open it read-write. */
  async copyIn(source: string, target: string): Promise<void> {
    await copyFile(source, target);
    await this.giveToCyrus(target);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private spawnTool(
    db: string,
    backend: CyrusDbBackend,
    action: readonly string[],
    options: { create?: boolean; recover?: boolean },
  ): ChildProcessWithoutNullStreams {
    const config = this.path(options.recover ? 'imapd-recover.conf' : 'imapd.conf');
    const args = ['-C', config, ...(options.create ? ['-n'] : []), db, backend, ...action];
    if (process.getuid?.() === this.cyrus.uid) return spawn(CYR_DBTOOL, args);
    const command = ['exec', CYR_DBTOOL, ...args].map(shellQuote).join(' ');
    return spawn('su', [CYRUS_USER, '-s', '/bin/sh', '-c', command]);
  }

  private async writeConfig(name: string, configDirectory: string, skipStamp: number): Promise<void> {
    const configDir = this.path(configDirectory);
    await mkdir(join(configDir, 'db'), { recursive: true });
    const stamp = Buffer.alloc(4);
    stamp.writeUInt32BE(skipStamp);
    await writeFile(join(configDir, 'db', 'skipstamp'), stamp);
    await writeFile(this.path(name), `configdirectory: ${configDir}\npartition-default: ${join(configDir, 'spool')}\nsyslog_prefix: cyrtest\n`);
    for (const path of [configDir, join(configDir, 'db'), join(configDir, 'db', 'skipstamp'), this.path(name)]) {
      await this.giveToCyrus(path);
    }
  }

  private async giveToCyrus(path: string): Promise<void> {
    if (process.getuid?.() === 0) await chown(path, this.cyrus.uid, this.cyrus.gid);
  }
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}
