// Figures for a hostile or hung IMAP server (not a test; nothing here asserts):
//   memory: the peak RSS of a client process fed a LIST of many users, or an XBACKUP flooding
//           `* OK USER otherN` lines, by a fake server in this process, and the heap it still holds after;
//   hung:   how long `check`, `report --format nagios` and one `run` cycle (and a SIGTERM during it)
//           take against a server that greets and then says nothing, or sends garbage.
// Usage: node dist/bench/hostile-servers.js [memory|hung|all] [--users N] [--lines N] [--run]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.js';
import { compileUseridPattern } from '../src/cyrus-names/userid-pattern.js';
import { AdminSession } from '../src/imap/admin-session.js';
import { discoverUsers, type ServerUsers } from '../src/imap/discover-users.js';
import { runXbackup, type XbackupRun } from '../src/imap/xbackup.js';
import { FakeImapServer, garbageAfterGreeting, silentAfterGreeting, type FakeConnection } from '../test/imap/support/fake-imap-server.js';
import { repoRoot } from '../test/support/paths.js';

const MAIN = join(repoRoot, 'dist/src/cli/main.js');
const SELF = join(repoRoot, 'dist/bench/hostile-servers.js');
const MB = 1024 * 1024;

/** This process's peak resident set so far (VmHWM), in MB. */
function peakRssMb(): number {
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  return kb / 1024;
}

/** Writes `count` lines made by `line`, a thousand per write, waiting for the socket each time. */
async function stream(conn: FakeConnection, count: number, line: (i: number) => string): Promise<boolean> {
  for (let i = 0; i < count; i += 1000) {
    let chunk = '';
    for (let j = i; j < Math.min(count, i + 1000); j++) chunk += line(j);
    if (!(await conn.writeAndDrain(chunk))) return false;
  }
  return true;
}

/**
 * The client side, in its own process so that its RSS is its own: prints one JSON line with its peak RSS
 * and the heap still in use after a full GC while the command's result is held (what it kept).
 */
async function child(kind: string, port: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xbs-hostile-'));
  writeFileSync(join(dir, 'config.yaml'), `servers:\n  - { name: hostile, host: 127.0.0.1, port: ${port}, tls: none, user: admin, passwordEnv: HOSTILE_PASSWORD }\n`);
  const [server] = loadConfig(join(dir, 'config.yaml'), { secrets: true }).servers;
  rmSync(dir, { recursive: true });
  const session = await AdminSession.open(server!);
  const rssAfterLogin = process.memoryUsage().rss / MB;
  const started = Date.now();
  let result: ServerUsers | XbackupRun | string;
  try {
    result = kind === 'list' ? await discoverUsers(session, [compileUseridPattern('*')], { shared: true }) : await runXbackup(session, 'user.alice', 'backup', { timeoutMs: 3_600_000, requested: ['alice'] });
  } catch (err) {
    // Its message only: an Error whose stack was never read holds on to the frames' closures, and so to what they kept.
    result = (err as Error).message;
  }
  const seconds = (Date.now() - started) / 1000;
  (globalThis as { gc?: () => void }).gc?.();
  const retained = process.memoryUsage().heapUsed / MB;
  // Read after the GC, so the result was held through it.
  const outcome = typeof result === 'string' ? result : 'allUserids' in result ? `${result.allUserids.length} users` : result.failure ? result.failure.message : `${result.items.length} lines kept`;
  process.stdout.write(`${JSON.stringify({ rssAfterLogin, peakRss: peakRssMb(), retained, seconds, outcome: outcome.slice(0, 300) })}\n`);
  session.abort();
}

async function measureMemory(kind: 'list' | 'xbackup', count: number): Promise<void> {
  const server = await FakeImapServer.start({
    capabilities: 'IMAP4rev1 LITERAL+ ID NAMESPACE AUTH=PLAIN SASL-IR LIST-EXTENDED LIST-STATUS STATUS=SIZE',
    handlers: {
      LIST: async (c, conn) => {
        if (c.args[1] === '') return conn.write(`* LIST (\\Noselect) "." ""\r\n${c.tag} OK Completed\r\n`);
        if (await stream(conn, count, (i) => `* LIST (\\HasNoChildren) "." "user.other${i}"\r\n* STATUS "user.other${i}" (SIZE ${1000 + i})\r\n`)) conn.write(`${c.tag} OK Completed\r\n`);
      },
      XBACKUP: async (c, conn) => {
        if (await stream(conn, count, (i) => `* OK USER other${i}\r\n`)) conn.write(`* OK USER alice\r\n${c.tag} OK Completed\r\n`);
      },
    },
  });
  try {
    const proc = spawn(process.execPath, ['--expose-gc', SELF, '--child', kind, String(server.port)], { env: { ...process.env, HOSTILE_PASSWORD: 'x' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise((resolve) => proc.on('close', resolve));
    const r = JSON.parse(out) as { rssAfterLogin: number; peakRss: number; retained: number; seconds: number; outcome: string };
    const what = kind === 'list' ? `LIST of ${count.toLocaleString('en-US')} users (+ STATUS SIZE each)` : `XBACKUP with ${count.toLocaleString('en-US')} lines for users not asked for`;
    console.log(`${what}: RSS ${r.rssAfterLogin.toFixed(0)} MB after login, peak ${r.peakRss.toFixed(0)} MB; heap in use after it ${r.retained.toFixed(0)} MB; ${r.seconds.toFixed(1)} s; ${r.outcome}`);
  } finally {
    await server.stop();
  }
}

function writeConfig(dir: string, port: number, extra = ''): string {
  mkdirSync(join(dir, 'conf'), { recursive: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'imapd.conf'), `configdirectory: ${join(dir, 'conf')}\nbackuppartition-default: ${join(dir, 'data')}\n`);
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    `backupd:\n  imapdConf: ${join(dir, 'imapd.conf')}\nstate: ${join(dir, 'state.db')}\n` +
      `servers:\n  - { name: hung, host: 127.0.0.1, port: ${port}, tls: none, user: admin, passwordEnv: HOSTILE_PASSWORD }\n${extra}`,
  );
  return file;
}

interface LogLine {
  msg?: string;
  seconds?: number;
}

const logLines = (stdout: string): LogLine[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);

/** Sends SIGTERM once `enough` holds of its log so far, or after `ms`. */
function watch(proc: ReturnType<typeof spawn>, enough: (lines: LogLine[]) => boolean, ms: number): void {
  let log = '';
  let termed = false;
  const term = () => {
    if (termed) return;
    termed = true;
    proc.kill('SIGTERM');
  };
  const late = setTimeout(term, ms);
  proc.on('close', () => clearTimeout(late));
  proc.stdout!.on('data', (d: Buffer) => {
    log += d.toString();
    if (enough(logLines(log))) term();
  });
}

/** Runs the CLI to its end, or kills it after `limitMs` (code null); resolves with its wall time and output. */
function timeCli(args: string[], onStarted?: (child: ReturnType<typeof spawn>) => void, limitMs = 420_000): Promise<{ seconds: number; code: number | null; stdout: string }> {
  const started = Date.now();
  const proc = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, HOSTILE_PASSWORD: 'x' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  onStarted?.(proc);
  const limit = setTimeout(() => proc.kill('SIGKILL'), limitMs);
  return new Promise((resolve) =>
    proc.on('close', (code) => {
      clearTimeout(limit);
      resolve({ seconds: (Date.now() - started) / 1000, code, stdout: code === null ? `${stdout}\n(killed after ${limitMs / 1000} s)` : stdout });
    }),
  );
}

async function measureHung(how: 'silent' | 'garbage', withRun: boolean): Promise<void> {
  const server = await FakeImapServer.start(how === 'silent' ? silentAfterGreeting() : garbageAfterGreeting());
  const dir = mkdtempSync(join(tmpdir(), 'xbs-hung-'));
  try {
    const config = writeConfig(dir, server.port);
    const check = await timeCli(['check', '-c', config]);
    console.log(`${how}: check ${check.seconds.toFixed(1)} s, exit ${check.code}: ${check.stdout.split('\n').filter((l) => l.includes('hung')).join(' | ').slice(0, 300)}`);
    const nagios = await timeCli(['report', '--format', 'nagios', '-c', config]);
    console.log(`${how}: report --format nagios ${nagios.seconds.toFixed(1)} s, exit ${nagios.code}: ${nagios.stdout.trim().slice(0, 300)}`);
    if (!withRun) return;
    // A cycle every 20 s, watched until four cycles ended or 330 s passed; then SIGTERM.
    const cyclesConfig = writeConfig(join(dir, 'cycles'), server.port, 'policy:\n  schedule: "*/20 * * * * *"\n  shutdownGrace: 10s\n');
    const cycles = await timeCli(['run', '-c', cyclesConfig], (proc) => watch(proc, (lines) => lines.filter((l) => l.msg === 'cycle end').length >= 4, 330_000), 900_000);
    const log = logLines(cycles.stdout);
    const count = (msg: string) => log.filter((l) => l.msg === msg).length;
    console.log(
      `${how}: run, a cycle every 20 s: cycles took ${log.filter((l) => l.msg === 'cycle end').map((l) => `${Number(l.seconds).toFixed(1)} s`).join(', ')}; ` +
        `${count('cycle skipped: the previous one is still running')} skipped as still running, ${count('discovery failed')} failed discoveries, ${count('server paused')} pauses`,
    );
    // SIGTERM 5 s into the first cycle, while the hung server is being asked for its users.
    const termConfig = writeConfig(join(dir, 'term'), server.port, 'policy:\n  schedule: "0 0 1 1 *"\n  shutdownGrace: 10s\n');
    let termAt = 0;
    let scheduled = false;
    const term = await timeCli(
      ['run', '-c', termConfig],
      (proc) =>
        watch(
          proc,
          (lines) => {
            if (!scheduled && lines.some((l) => l.msg === 'cycle start')) {
              scheduled = true;
              setTimeout(() => ((termAt = Date.now()), proc.kill('SIGTERM')), 5_000);
            }
            return false;
          },
          900_000,
        ),
      900_000,
    );
    const said = logLines(term.stdout).filter((l) => /stopping|grace|stopped/.test(String(l.msg))).map((l) => l.msg);
    console.log(`${how}: run, SIGTERM 5 s into the first cycle (shutdownGrace 10 s): exited ${((Date.now() - termAt) / 1000).toFixed(2)} s after it, exit ${term.code}; said: ${said.join(' | ')}`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { child: { type: 'string' }, users: { type: 'string', default: '600000' }, lines: { type: 'string', default: '3000000' }, run: { type: 'boolean', default: false } },
});
if (values.child) {
  await child(values.child, Number(positionals[0]));
} else {
  const what = positionals[0] ?? 'all';
  if (what === 'memory' || what === 'all') {
    await measureMemory('list', Number(values.users));
    await measureMemory('xbackup', Number(values.lines));
  }
  if (what === 'hung' || what === 'all') {
    await measureHung('silent', values.run);
    await measureHung('garbage', values.run);
  }
}
