// `npm run sandbox`: a self-contained playground on this machine. It starts a real Cyrus IMAP server and a
// real backupd on loopback (the integration tests' test bed), fills the IMAP server with a small fleet,
// writes sandbox/config.yaml for it, runs check, bootstrap and report, and leaves `run` going with its
// status page on http://127.0.0.1:<port>/ (9465 plus a number of this checkout's, so that two checkouts'
// sandboxes never meet). `npm run sandbox -- stop` stops everything.
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CyrusTestBed } from '../test/cyrus/testbed.js';
import { repoRoot } from '../test/support/paths.js';

const SANDBOX = join(repoRoot, 'sandbox');
/**
 * Cyrus's own files go where its `cyrus` user can reach them: a checkout under a 0700 home (root's,
 * say) is not searchable by it. The config, state and logs stay in sandbox/ beside the checkout.
 */
/** A number of this checkout's own: two checkouts' sandboxes get their own Cyrus folder and status page port. */
const CHECKOUT = Number.parseInt(createHash('sha256').update(repoRoot).digest('hex').slice(0, 8), 16) % 500;
const CYRUS_DIR = `/var/tmp/xbackup-scheduler-sandbox-${CHECKOUT}`;
const STATUS_PORT = 9465 + CHECKOUT;
const CONFIG = join(SANDBOX, 'config.yaml');
const RUN_LOG = join(SANDBOX, 'run.log');
const RUN_PID = join(SANDBOX, 'run.pid');
const STATUS_URL = `http://127.0.0.1:${STATUS_PORT}/`;
const PACKAGES = ['cyrus-imapd', 'cyrus-common', 'cyrus-replication', 'cyrus-clients', 'sasl2-bin'];
const APT_LINE = `apt-get update && apt-get install -y ${PACKAGES.join(' ')}`;

/**
 * About forty users of mixed sizes: some empty, most small, a few of several MB; dotted userids and
 * users of a second domain, as a real fleet has them (the servers run with '/' and virtdomains).
 */
const FLEET: Array<[userid: string, messages: number, messageBytes: number]> = [
  ...['anne', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'kim', 'leo', 'mia', 'nick', 'olga', 'pat'].map(
    (userid, i): [string, number, number] => [userid, (i * 7) % 30, 2_000 + i * 500],
  ),
  ...['anne.smith', 'bob.jones', 'carol.white', 'dan.brown', 'eve.black', 'fay.green'].map((userid, i): [string, number, number] => [userid, 5 + i * 3, 4_000]),
  ...['sales', 'support', 'ops', 'anne', 'zoe', 'yann', 'xavier', 'walt'].map((local, i): [string, number, number] => [`${local}@example.com`, 2 + i * 4, 3_000]),
  ...['dev', 'qa', 'max.mustermann', 'lea'].map((local, i): [string, number, number] => [`${local}@example.net`, 1 + i, 6_000]),
  ['mallory', 0, 0],
  ['trent', 0, 0],
  ['big', 40, 250_000],
  ['bigger@example.com', 60, 250_000],
  ['quiet', 1, 500],
];

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

function cyrusInstalled(): boolean {
  return existsSync('/usr/lib/cyrus/bin/master') && existsSync('/usr/lib/cyrus/bin/backupd') && existsSync('/usr/sbin/saslpasswd2');
}

function ensureCyrus(): void {
  if (cyrusInstalled()) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`Cyrus is not installed and installing it needs root. Run as root:\n  ${APT_LINE}\nthen npm run sandbox again (as root: the sandbox starts Cyrus's master, which needs it).`);
  }
  say(`Installing Debian's Cyrus packages: ${PACKAGES.join(' ')}`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  // The packages' own system-wide services are not wanted: the sandbox starts its own, on loopback.
  writeFileSync('/usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...PACKAGES], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } finally {
    rmSync('/usr/sbin/policy-rc.d', { force: true });
  }
}

/** Runs one CLI command against the sandbox on this terminal, so bootstrap can draw its progress bar. */
async function show(heading: string, args: string[]): Promise<void> {
  say(`\n== ${heading}: xbackup-scheduler ${args.join(' ')}\n`);
  await new Promise<void>((resolve, reject) => {
    spawn(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), ...args], { stdio: 'inherit' })
      .on('error', reject)
      .on('close', () => resolve());
  });
}

/** Starts `run` in the background, its log in sandbox/run.log, and waits until its status page answers. */
async function startScheduler(): Promise<number> {
  const log = openSync(RUN_LOG, 'a');
  const child = spawn(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'run', '-c', CONFIG], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  closeSync(log);
  writeFileSync(RUN_PID, `${child.pid}\n`);
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`${STATUS_URL}healthz`).then(() => true, () => false);
    if (up) return child.pid!;
    await sleep(100);
  }
  throw new Error(`the scheduler did not start its status page at ${STATUS_URL}; see ${RUN_LOG}`);
}

async function stopScheduler(): Promise<void> {
  if (!existsSync(RUN_PID)) return;
  const pid = Number(readFileSync(RUN_PID, 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
}

async function stopSandbox(): Promise<void> {
  await stopScheduler();
  if (existsSync(CYRUS_DIR)) await CyrusTestBed.stopServersIn(CYRUS_DIR);
  rmSync(CYRUS_DIR, { recursive: true, force: true });
  rmSync(SANDBOX, { recursive: true, force: true });
}

async function startSandbox(): Promise<void> {
  ensureCyrus();
  if (process.getuid?.() !== 0) throw new Error('the sandbox starts Cyrus\'s master, which must run as root: run npm run sandbox as root');
  if (existsSync(SANDBOX) || existsSync(CYRUS_DIR)) {
    say('Stopping the previous sandbox and starting afresh.');
    await stopSandbox();
  }
  mkdirSync(SANDBOX, { recursive: true, mode: 0o755 });
  say('Starting a Cyrus IMAP server and a backupd on loopback ...');
  const bed = await CyrusTestBed.start({ dir: CYRUS_DIR, keep: true, unixHierarchySep: true, virtDomains: true });
  say(`Creating ${FLEET.length} users with mail ...`);
  for (const [userid, messages, messageBytes] of FLEET) await bed.createUser(userid, { messages, messageBytes });
  await bed.disconnect();

  const passwordFile = join(SANDBOX, 'imap1.password');
  writeFileSync(passwordFile, `${bed.admin.password}\n`, { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  writeFileSync(
    CONFIG,
    [
      `# Written by npm run sandbox for the Cyrus servers under ${CYRUS_DIR}.`,
      'backupd:',
      `  imapdConf: ${bed.backup.confPath}`,
      `state: ${join(SANDBOX, 'state.db')}`,
      'servers:',
      '  - name: imap1',
      `    host: ${bed.imap.host}`,
      `    port: ${bed.imap.port}`,
      '    tls: none',
      `    user: ${bed.admin.user}`,
      `    passwordFile: ${passwordFile}`,
      `    channel: ${bed.channel}`,
      '    maxConcurrent: 2',
      'policy:',
      '  schedule: "* * * * *"',
      '  maxAge: 10m',
      // Mailboxes read well within maxAge, so that unchanged users are spared their XBACKUPs.
      '  discoverEvery: 2m',
      'bootstrap:',
      '  groupSize: 4',
      '  pause: 2s',
      // The maintenance lane: Cyrus's ctl_backups as cyrus (the sandbox runs as root); every backup deep-verified today.
      'maintenance:',
      '  command: [/usr/sbin/runuser, -u, cyrus, --]',
      '  verifyEvery: 1d',
      'http:',
      `  listen: "127.0.0.1:${STATUS_PORT}"`,
      '',
    ].join('\n'),
  );

  await show('Checking the setup (config, backup server, IMAP server, XBACKUP)', ['check', '-c', CONFIG]);
  await show('First backups of the whole fleet, four users at a time', ['bootstrap', '-c', CONFIG]);
  await show('The staleness report', ['report', '-c', CONFIG]);
  const pid = await startScheduler();

  say(`
The sandbox is running:
  IMAP server   127.0.0.1:${bed.imap.port}  (admin user "${bed.admin.user}", password in ${passwordFile})
  backupd       127.0.0.1:${bed.backup.port}  (Cyrus config ${bed.backup.confPath})
  config        ${CONFIG}
  scheduler     xbackup-scheduler run (pid ${pid}, log ${RUN_LOG}): keeps everyone younger than 10 min
  status page   ${STATUS_URL}   (also ${STATUS_URL}metrics, ${STATUS_URL}status, ${STATUS_URL}healthz)

Next (the CLI is node dist/src/cli/main.js, or xbackup-scheduler once installed):
  node dist/src/cli/main.js plan -c ${CONFIG}              what a cycle would do now, and why
  node dist/src/cli/main.js backup 'a*' -c ${CONFIG}       back up matching users now
  node dist/src/cli/main.js history -c ${CONFIG}           past attempts
  node dist/src/cli/main.js history --maintenance -c ${CONFIG}   the maintenance lane's ctl_backups verify runs
  node dist/src/cli/main.js report -c ${CONFIG} --json     the report as JSON (also csv, prometheus, nagios)
  npm run sandbox -- stop                                    stop the scheduler and the Cyrus servers, remove sandbox/`);
}

const command = process.argv[2] ?? 'start';
try {
  if (command === 'stop') {
    await stopSandbox();
    say('Sandbox stopped and removed.');
  } else if (command === 'start') {
    await startSandbox();
  } else {
    throw new Error(`unknown sandbox command "${command}"; use: npm run sandbox [-- stop]`);
  }
} catch (err) {
  process.stderr.write(`sandbox: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
