// `report --format nagios` as a monitoring plugin: what it covers (--user), what raises it (a first backup
// overdue past the group that should have taken it, an IMAP server that cannot be asked), its options
// (thresholds in order, no --json beside it, --timeout), and every error before a verdict as UNKNOWN on
// stdout. The writer and the option rules as tables; the command against fake IMAP servers on loopback.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chosenFormat, refuseThresholds } from '../../src/cli/output/report-formats.js';
import { asksForNagiosCheck, nagiosThresholds, writeReportNagios } from '../../src/cli/output/report-nagios.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { AttemptLog } from '../../src/scheduler/state/attempt-log.js';
import { BootstrapGroups } from '../../src/scheduler/state/bootstrap-groups.js';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { buildReport } from '../../src/staleness/report.js';
import { FakeImapServer, silentAfterGreeting, type CommandHandler, type FakeImapServerOptions } from '../imap/support/fake-imap-server.js';
import { runCliInProcess, runCliProcess, startCliProcess } from '../support/run-cli.js';
import { waitFor } from '../support/wait-for.js';
import { writeFlatBackupsDb, writeSyntheticBackup } from '../support/synthetic-backup.js';
import { userStatus } from '../support/user-status.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const H = 3_600_000;
const MAX_AGE = 24 * H;
/** maintenance.verifyEvery's default. */
const VERIFY_EVERY = 30 * 24 * H;
const AGES = { warnAge: MAX_AGE, critAge: 2 * MAX_AGE };

describe('the writer', () => {
  const fleet = (users: Parameters<typeof userStatus>[]) => buildReport({ coverage: 'complete', users: users.map((u) => userStatus(...u)) }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });

  test('--user: the line says how many of the fleet it covered; a pattern matching nobody is UNKNOWN, saying so', () => {
    const two = fleet([['c01', 'fresh', H, NOW], ['c02', 'fresh', 2 * H, NOW]]);
    const n = writeReportNagios(two, { ...AGES, scope: { patterns: ['c0*'], fleetUsers: 5 } });
    assert.equal(n.exitCode, 0);
    assert.match(n.text, /^XBACKUP OK - 2 of 5 users matching c0\*, oldest 2h \(c02\) \|/);
    const stale = fleet([['c01', 'stale', 30 * H, NOW]]);
    assert.match(writeReportNagios(stale, { ...AGES, scope: { patterns: ['c0*'], fleetUsers: 5 } }).text, /^XBACKUP WARNING - 1 backup older than 1d; 1 of 5 users matching c0\*, oldest 1d 6h \(c01\) \|/);
    const none = writeReportNagios(fleet([]), { ...AGES, scope: { patterns: ['c0*', 'd*'], fleetUsers: 5 } });
    assert.deepEqual(none, { text: 'XBACKUP UNKNOWN - no user matches --user c0* d* (of 5 users)\n', exitCode: 3 });
  });

  test('a user without a first backup long after its group: WARNING past warnAge, CRITICAL past critAge, as ages', () => {
    const waiting = fleet([['anne', 'fresh', H, NOW], ['newbie', 'missing', null, NOW]]);
    const cases: Array<[waited: number, exitCode: number, text: RegExp]> = [
      [MAX_AGE - H, 0, /^XBACKUP OK - 1 never backed up; oldest 1h \(anne\)/],
      [MAX_AGE + H, 1, /^XBACKUP WARNING - 1 user without a first backup for more than 1d, 1 never backed up;/],
      [2 * MAX_AGE + H, 2, /^XBACKUP CRITICAL - 1 user without a first backup for more than 2d, 1 never backed up;/],
    ];
    for (const [waited, exitCode, text] of cases) {
      const n = writeReportNagios(waiting, { ...AGES, firstBackupsDueSince: [NOW - waited] });
      assert.equal(n.exitCode, exitCode, `${waited / H} h after its group`);
      assert.match(n.text, text);
    }
    assert.equal(writeReportNagios(waiting, AGES).exitCode, 0, 'a user no group has tried yet (a bootstrap under way) raises nothing');
  });
});

describe('the options', () => {
  test('a warning threshold must be below its critical one, defaults included', () => {
    assert.deepEqual(nagiosThresholds({}, MAX_AGE), { warnAge: MAX_AGE, critAge: 2 * MAX_AGE, warnMessages: undefined, critMessages: undefined });
    assert.throws(() => nagiosThresholds({ warnAge: 48 * H, critAge: H }, MAX_AGE), (err) => err instanceof UsageError && /^--warn-age 2d must be below --crit-age 1h:/.test(err.message));
    assert.throws(() => nagiosThresholds({ critAge: H }, MAX_AGE), /--warn-age 1d \(by default the max age\) must be below --crit-age 1h/);
    assert.throws(() => nagiosThresholds({ warnAge: 2 * MAX_AGE }, MAX_AGE), /must be below --crit-age 2d \(by default twice the max age\)/);
    assert.throws(() => nagiosThresholds({ warnMessages: 100, critMessages: 100 }, MAX_AGE), /: --warn-messages 100 must be below --crit-messages 100$/);
    assert.equal(nagiosThresholds({ warnMessages: 500 }, MAX_AGE).warnMessages, 500);
  });

  test('--json beside another --format is refused; threshold options with a format that reads none are refused', () => {
    assert.throws(() => chosenFormat(true, 'nagios', true), (err) => err instanceof UsageError && /^--json and --format nagios ask for two different outputs/.test(err.message));
    assert.equal(chosenFormat(true, 'table', false), 'json', '--json alone: the default --format gives way');
    assert.equal(chosenFormat(true, 'json', true), 'json');
    assert.equal(chosenFormat(undefined, 'nagios', true), 'nagios');
    assert.throws(() => refuseThresholds('json', { warnAge: H }), /: --warn-age is for --format nagios only, not --format json$/);
    assert.doesNotThrow(() => refuseThresholds('nagios', { warnAge: H, critMessages: 3 }));
  });

  test('the check is recognised from the words of the command line, whatever the error', () => {
    assert.equal(asksForNagiosCheck(['report', '--format', 'nagios']), true);
    assert.equal(asksForNagiosCheck(['-c', 'x.yaml', 'report', '--warn-age', 'x', '--format=nagios']), true);
    assert.equal(asksForNagiosCheck(['report', '--format', 'json']), false);
    assert.equal(asksForNagiosCheck(['history', '--format', 'nagios']), false);
  });
});

// The command, against a backup server of synthetic files and fake IMAP servers on loopback.
const dir = mkdtempSync(join(tmpdir(), 'xbs-nagios-'));
const servers: FakeImapServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});
const env = { NAGIOS_PASSWORD: 'secret' };

/** A fake server whose LIST names these users' INBOXes. */
function listing(userids: readonly string[]): FakeImapServerOptions {
  return {
    handlers: {
      LIST: (c, conn) => {
        const lines = c.args[1] === '' ? ['* LIST (\\Noselect) "." ""'] : userids.map((u) => `* LIST (\\HasNoChildren) "." "user.${u}"`);
        conn.write(`${lines.join('\r\n')}\r\n${c.tag} OK Completed\r\n`);
      },
    },
  };
}

async function fake(options: FakeImapServerOptions): Promise<FakeImapServer> {
  const server = await FakeImapServer.start(options);
  servers.push(server);
  return server;
}

/**
 * A backup server where each of `backedUp` was backed up `age` ms ago, a config naming it and `imap`
 * (name and port, with `extra` settings), and the state database's path.
 */
function backupServer(name: string, backedUp: ReadonlyArray<readonly [string, number]>, imap: ReadonlyArray<{ name: string; port: number; extra?: string }>): { config: string; state: string } {
  const root = join(dir, name);
  const data = join(root, 'data');
  const rows = backedUp.map(([userid, age]) => {
    const file = join(data, userid[0]!, `${userid}_X`);
    writeSyntheticBackup(file, { chunkEnds: [Math.floor((Date.now() - age) / 1000)] });
    return [userid, file] as const;
  });
  writeFlatBackupsDb(join(root, 'backups.db'), rows);
  writeFileSync(join(root, 'imapd.conf'), `configdirectory: ${root}\nbackuppartition-default: ${data}\nbackup_db: flat\n`);
  const config = join(root, 'config.yaml');
  const state = join(root, 'state.db');
  const list = imap.map((s) => `  - { name: ${s.name}, host: 127.0.0.1, port: ${s.port}, tls: none, user: admin, passwordEnv: NAGIOS_PASSWORD${s.extra ?? ''} }\n`).join('');
  writeFileSync(config, `backupd:\n  imapdConf: ${join(root, 'imapd.conf')}\nstate: ${state}\npolicy:\n  maxAge: 24h\n${imap.length > 0 ? `servers:\n${list}` : 'servers: []\n'}`);
  return { config, state };
}

describe('report --format nagios', () => {
  test("--user 'c0*': the counts cover the matched users alone", async () => {
    const { config } = backupServer('scope', [['c01', H], ['c02', 2 * H], ['dave', 3 * MAX_AGE]], []);
    const r = await runCliInProcess(['report', '--format', 'nagios', '--user', 'c0*', '-c', config]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^XBACKUP OK - 2 of 3 users matching c0\*, oldest 2h \(c02\) \| fresh=2 stale=0 /);
    const nobody = await runCliInProcess(['report', '--format', 'nagios', '--user', 'zz*', '-c', config]);
    assert.equal(nobody.code, 3, nobody.stdout);
    assert.equal(nobody.stdout, 'XBACKUP UNKNOWN - no user matches --user zz* (of 3 users)\n');
    const listing = await runCliInProcess(['report', '--user', 'c0*', '--json', '-c', config]);
    assert.equal((JSON.parse(listing.stdout) as { counts: { stale: number } }).counts.stale, 1, 'a listing still counts everyone');
  });

  test('a user still without a backup 2 days after the group that tried it: CRITICAL', async () => {
    const imap = await fake(listing(['anne', 'newbie']));
    const { config, state } = backupServer('overdue', [['anne', H]], [{ name: 'imap1', port: imap.port }]);
    const db = openStateDb(state);
    try {
      const groups = new BootstrapGroups(db);
      const startedAt = Date.now() - 3 * MAX_AGE;
      const group = groups.start(startedAt, 0);
      const log = new AttemptLog(db);
      const [id] = log.start([{ userid: 'newbie', server: 'imap1', kind: 'first', group, pattern: 'user.newbie', startedAt, chunkBefore: 0 }]);
      log.end([[id!, { endedAt: startedAt + 1000, outcome: 'no', error: 'Mailbox is locked', locked: true, inDoubt: false, chunkAfter: null, pattern: null }]]);
      groups.end(group, startedAt + 60_000);
    } finally {
      db.close();
    }
    const r = await runCliProcess(['report', '--format', 'nagios', '-c', config], { env });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /^XBACKUP CRITICAL - 1 user without a first backup for more than 2d, 1 never backed up; oldest 1h \(anne\) \| fresh=1 stale=0 missing=1 /);
  });

  test('an IMAP server that refuses the login: WARNING naming it, whatever else is fine', async () => {
    const refuse: CommandHandler = (c, conn) => conn.write(`${c.tag} NO Login failed: authentication failure\r\n`);
    const refusing = await fake({ handlers: { LOGIN: refuse, AUTHENTICATE: refuse } });
    const answering = await fake(listing(['anne']));
    const { config } = backupServer('unasked', [['anne', H]], [
      { name: 'imap1', port: answering.port },
      { name: 'imap2', port: refusing.port },
    ]);
    const r = await runCliProcess(['report', '--format', 'nagios', '-c', config], { env });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^XBACKUP WARNING - could not ask imap2 for its users; oldest 1h \(anne\) \|/);
  });

  describe('a server that greets and then says nothing', () => {
    let config: string;
    before(async () => {
      const silent = await fake(silentAfterGreeting());
      // Its own deadlines far away: only --timeout can end the check.
      ({ config } = backupServer('stalled', [['anne', H]], [{ name: 'stalled', port: silent.port, extra: ', stepTimeout: 1h, commandTimeout: 2h' }]));
    });

    // Long enough for the check's child to start and reach the server on a loaded machine: the line names what it waits for.
    test('--timeout ends the check UNKNOWN, saying what it was waiting for', async () => {
      const r = await runCliProcess(['report', '--format', 'nagios', '--timeout', '10s', '-c', config], { env, timeoutMs: 120_000 });
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.equal(r.stdout, 'XBACKUP UNKNOWN - no answer within 10s (--timeout): still waiting for stalled to say who its users are\n');
    });
  });

  test("the report's process killed by someone else: UNKNOWN, saying so, not a verdict of nothing", async () => {
    const { config } = backupServer('killed', [['anne', H]], []);
    const index = join(dir, 'killed', 'data', 'a', 'anne_X.index');
    rmSync(index);
    assert.equal(spawnSync('mkfifo', [index]).status, 0);
    const running = startCliProcess(['report', '--format', 'nagios', '--timeout', '10m', '-c', config], { env });
    // The child the check runs its report in, stuck on the FIFO: killed from outside, as the OOM killer would.
    const childPid = await waitFor(() => spawnSync('pgrep', ['-P', String(running.child.pid)], { encoding: 'utf8' }).stdout.trim() || undefined, { timeoutMs: 60_000, what: "the report's child process" });
    process.kill(Number(childPid), 'SIGKILL');
    assert.equal(await running.exited, 3, running.output().stderr);
    assert.match(running.output().stdout, /^XBACKUP UNKNOWN - the report's process ended by SIGKILL while waiting for (the report to start|the backup server's files \(.*\))\n$/);
  });

  test("a read of backupd's files that never returns (an index that is a FIFO, as a hung NFS read): --timeout still ends the check UNKNOWN, and the process", async () => {
    const { config } = backupServer('hung', [['anne', H]], []);
    const index = join(dir, 'hung', 'data', 'a', 'anne_X.index');
    rmSync(index);
    assert.equal(spawnSync('mkfifo', [index]).status, 0);
    const r = await runCliProcess(['report', '--format', 'nagios', '--timeout', '10s', '-c', config], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.equal(r.stdout, `XBACKUP UNKNOWN - no answer within 10s (--timeout): still waiting for the backup server's files (${join(dir, 'hung', 'backups.db')} and the indexes it lists)\n`);
  });

  test('every error before a verdict is UNKNOWN, one line on stdout', async () => {
    const { config } = backupServer('errors', [['anne', H]], []);
    const cases: Array<[args: string[], line: RegExp]> = [
      [['-c', join(dir, 'nowhere.yaml')], /^XBACKUP UNKNOWN - .*nowhere\.yaml: no such file/],
      [['--warn-age', 'soon', '-c', config], /^XBACKUP UNKNOWN - option '--warn-age <duration>' argument 'soon' is invalid\./],
      [['--warn-age', '48h', '--crit-age', '1h', '-c', config], /^XBACKUP UNKNOWN - --warn-age 2d must be below --crit-age 1h/],
      [['--json', '-c', config], /^XBACKUP UNKNOWN - --json and --format nagios ask for two different outputs/],
      [['--no-such-option', '-c', config], /^XBACKUP UNKNOWN - unknown option '--no-such-option'/],
    ];
    for (const [args, line] of cases) {
      const r = await runCliInProcess(['report', '--format', 'nagios', ...args]);
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, line);
      assert.equal(r.stdout.split('\n').length, 2, `one line: ${r.stdout}`);
    }
    const damaged = join(dir, 'errors', 'state.db');
    writeFileSync(damaged, 'not a database at all, but long enough to be read as one: '.repeat(100));
    const r = await runCliInProcess(['report', '--format', 'nagios', '-c', config]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /^XBACKUP UNKNOWN - .*state\.db/);
  });
});
