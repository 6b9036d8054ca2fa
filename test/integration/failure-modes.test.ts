// Every way a whole XBACKUP command can fail, for real against Cyrus (no mocks): each one must give
// its own clear message and exit code 1 from `backup`, a FAIL line naming the fix from `check`, and
// must not touch a healthy server configured in the same file. See cyrus-facts.md §3 for the answers
// Cyrus gives, and src/imap/xbackup-failure.ts for the advice each kind carries.
//
// Two beds: `bed` (XBACKUP enabled, imap1 + imap2, extra channels) and `offBed` (`xbackup_enabled:
// no`). Every config has one healthy server, "good" = bed's imap1 with the admin and the bed's own
// channel, plus one broken server. A config names one backup server (the `backupd:` section), so the
// healthy server always goes to bed's backupd; the "backupd stopped" case therefore stops offBed's
// backupd and points a channel of bed's imap2 at it.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseCtlBackupsJsonList } from '../support/ctl-backups-list.js';
import { runCliProcess, type CliResult } from '../support/run-cli.js';
import { useBed } from '../support/use-bed.js';

/** A non-admin who can log in on bed's imap2. */
const NORM = { userid: 'norm', password: 'Norm-pw-5e1d9c-not-an-admin' };
/** The sync password of bed's `wrongpw` channel: distinctive, so a leak of it would show too. */
const WRONG_SYNC_PASSWORD = 'WrongSync-pw-8b3f2a';
/** Each CLI run is bounded; every failure here is answered within a few seconds by Cyrus. */
const CLI_TIMEOUT_MS = 45_000;
const TEST_TIMEOUT_MS = 120_000;

interface ServerEntry {
  name: string;
  port: number;
  user: string;
  password: string;
  channel: string;
}

describe('failure modes of XBACKUP: a clear message and exit code 1 each, a healthy server in the same file unaffected', () => {
  let configCounter = 0;
  /** Every password that must never be printed. */
  let secrets: string[] = [];

  const { bed: offBed } = useBed({
    bed: { xbackupEnabled: false },
    async setup() {
      await offBed.createUser('dora', { messages: 2 });
    },
  });
  const { bed, work } = useBed({
    bed: () => ({
      secondImapServer: true,
      channels: {
        wrongpw: { password: WRONG_SYNC_PASSWORD },
        // offBed's backupd: stopped for the "backupd down" case (the password does not matter then).
        offsite: { port: offBed.backup.port },
      },
    }),
    scratch: 'xbs-failure-modes-',
    async setup() {
      await bed.createUser('gina', { messages: 2 });
      await bed.createUser('canary', { messages: 1 });
      await bed.createUser('canary', { server: 'imap2', messages: 1 });
      await bed.createUser('ivan', { server: 'imap2', messages: 2 });
      await bed.createUser('hal', { server: 'imap2', messages: 2 });
      await bed.createUser(NORM.userid, { server: 'imap2', password: NORM.password });
      // norm may see ivan's INBOX (so a LIST as norm finds ivan), but is no admin; hal it cannot see at all.
      const imap2 = await bed.connect('imap2');
      try {
        const r = await imap2.command(`SETACL "${bed.mailboxName('ivan', undefined, 'imap2')}" "${NORM.userid}" lr`);
        assert.equal(r.status, 'OK', `SETACL: ${r.status} ${r.text}`);
      } finally {
        imap2.close();
      }
      secrets = [bed.admin.password, offBed.admin.password, NORM.password, WRONG_SYNC_PASSWORD];
    },
  });

  /** Writes a config with its own 0600 password file per server; the backup server is always bed's. */
  const writeConfig = (label: string, servers: ServerEntry[]): string => {
    const dir = join(work, `${++configCounter}-${label}`);
    mkdirSync(dir, { recursive: true });
    const entries = servers.map((s) => {
      const passwordFile = join(dir, `${s.name}.password`);
      writeFileSync(passwordFile, `${s.password}\n`, { mode: 0o600 });
      chmodSync(passwordFile, 0o600);
      const keys = { name: s.name, host: '127.0.0.1', port: s.port, tls: 'none', user: s.user, passwordFile, channel: s.channel };
      return Object.entries(keys)
        .map(([key, value], i) => `${i === 0 ? '  - ' : '    '}${key}: ${JSON.stringify(value)}`)
        .join('\n');
    });
    const file = join(dir, 'config.yaml');
    writeFileSync(file, [`backupd:\n  imapdConf: ${bed.backup.confPath}`, `state: ${join(dir, 'state.db')}`, `servers:\n${entries.join('\n')}`].join('\n') + '\n');
    return file;
  };

  const good = (): ServerEntry => ({ name: 'good', port: bed.imap.port, user: bed.admin.user, password: bed.admin.password, channel: bed.channel });
  const onImap2 = (name: string, overrides: Partial<ServerEntry> = {}): ServerEntry => ({
    name,
    port: bed.imap2!.port,
    user: bed.admin.user,
    password: bed.admin.password,
    channel: bed.channel,
    ...overrides,
  });

  /** Runs the CLI and, whatever the test asserts next, checks that no password reached its output. */
  const cli = async (args: string[]): Promise<CliResult> => {
    const run = await runCliProcess(args, { timeoutMs: CLI_TIMEOUT_MS });
    for (const secret of secrets) {
      assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), `a password appeared in the output of ${args.join(' ')}:\n${run.stdout}\n${run.stderr}`);
    }
    return run;
  };
  const show = (run: CliResult) => `exit ${run.code}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;
  /** The one output line about `userid` (there must be exactly one). */
  const lineAbout = (run: CliResult, userid: string): string => {
    const lines = run.stdout.split('\n').filter((l) => new RegExp(`^[A-Z]+ ${userid}[ :]`).test(l));
    assert.equal(lines.length, 1, `expected one line about ${userid}\n${show(run)}`);
    return lines[0]!;
  };
  const backedUp = async () => new Set(parseCtlBackupsJsonList((await bed.ctlBackups(['-j', 'list'])).stdout).map((e) => e.userid));

  /** The healthy half of every combined run: gina on "good" backed up and verified, in the same run. */
  const assertGoodServerUnaffected = (run: CliResult) => {
    assert.match(lineAbout(run, 'gina'), /^OK gina \d+\.\ds \(good\)$/, show(run));
    assert.match(run.stdout, /^1 ok, 1 failed$/m, show(run));
    assert.equal(run.code, 1, show(run));
  };
  /** check: both servers log in, the healthy one passes XBACKUP; returns the broken server's FAIL line. */
  const assertCheckFails = (run: CliResult, bad: string): string => {
    assert.equal(run.code, 1, show(run));
    assert.match(run.stdout, /^PASS good login: /m, show(run));
    assert.match(run.stdout, /^PASS good XBACKUP: enabled, admin is an admin; channel "backup"/m, show(run));
    assert.doesNotMatch(run.stdout, /^FAIL good/m, show(run));
    const fails = run.stdout.split('\n').filter((l) => l.startsWith(`FAIL ${bad}`));
    assert.equal(fails.length, 1, `expected one FAIL line for ${bad}\n${show(run)}`);
    return fails[0]!;
  };

  test('baseline: with only the healthy server, backup and check pass', { timeout: TEST_TIMEOUT_MS }, async () => {
    const config = writeConfig('baseline', [good()]);
    const run = await cli(['backup', 'gina', '-c', config]);
    assert.equal(run.code, 0, show(run));
    assert.match(lineAbout(run, 'gina'), /^OK gina \d+\.\ds \(good\)$/);
    const check = await cli(['check', '--canary', 'canary', '-c', config]);
    assert.equal(check.code, 0, show(check));
    assert.match(check.stdout, /^PASS good canary canary: backed up in /m, show(check));
  });

  test('1. XBACKUP disabled (xbackup_enabled: no): says to set xbackup_enabled: yes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const config = writeConfig('disabled', [good(), { name: 'off', port: offBed.imap.port, user: offBed.admin.user, password: offBed.admin.password, channel: offBed.channel }]);

    const run = await cli(['backup', 'gina', 'dora', '-c', config]);
    assertGoodServerUnaffected(run);
    const dora = lineAbout(run, 'dora');
    assert.match(dora, /^NO dora \(off\): off: XBACKUP user\.dora backup: BAD Unrecognized command \(/, show(run));
    assert.match(dora, /XBACKUP is disabled on this server: set `xbackup_enabled: yes` in its imapd\.conf and restart its master/);
    assert.doesNotMatch(dora, /in doubt/);

    const check = await cli(['check', '-c', config]);
    const fail = assertCheckFails(check, 'off');
    const release = offBed.releases.imap.replace('.', '\\.');
    assert.match(check.stdout, new RegExp(`^PASS off login: admin@127\\.0\\.0\\.1:\\d+ \\(none\\), Cyrus ${release}\\.`, 'm'), show(check));
    assert.match(fail, /^FAIL off XBACKUP: .*BAD Unrecognized command .*`xbackup_enabled: yes`/, show(check));
  });

  test('2a. logged in as a non-admin, asking for a user it cannot see: says to add it to admins:', { timeout: TEST_TIMEOUT_MS }, async () => {
    // The realistic case: a login that is no admin sees no one else's mailboxes at all, so discovery
    // (LIST "" "user.*") finds nobody there. The line about hal must still point at the real cause.
    const config = writeConfig('not-admin-blind', [good(), onImap2('norights', { user: NORM.userid, password: NORM.password })]);

    const check = await cli(['check', '-c', config]);
    const fail = assertCheckFails(check, 'norights');
    assert.match(check.stdout, /^PASS norights login: norm@127\.0\.0\.1:\d+/m, show(check));
    assert.match(fail, /^FAIL norights XBACKUP: .*NO Permission denied .*not an IMAP admin: add it to `admins:` in the server's imapd\.conf/, show(check));

    const run = await cli(['backup', 'gina', 'hal', '-c', config]);
    assert.equal(run.code, 1, show(run));
    assert.match(lineAbout(run, 'gina'), /^OK gina \d+\.\ds \(good\)$/, show(run));
    assert.match(run.stdout, /^1 ok, [1-9]\d* failed$/m, show(run));
    // hal IS on norights, which norm cannot see: "hal is on none of the configured servers" is false.
    // The run must instead say that norights' login is no admin (how it says so is the product's choice).
    assert.doesNotMatch(run.stdout, /hal is on none of the configured servers/, `hal is on norights; the real cause is that norm is no admin\n${show(run)}`);
    assert.match(run.stdout, /norights.*not an IMAP admin: add it to `admins:`/, `the run should say that norights' login is no admin\n${show(run)}`);
  });

  test('2b. logged in as a non-admin that could see the user: the server is not asked, with the admins: fix; ivan untouched', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Discovery refuses a non-admin login outright: its LIST shows only what its ACLs allow, which
    // would make users look absent (or orphaned) rather than unreachable.
    const config = writeConfig('not-admin', [good(), onImap2('norights', { user: NORM.userid, password: NORM.password })]);

    const run = await cli(['backup', 'gina', 'ivan', '-c', config]);
    assert.equal(run.code, 1, show(run));
    assert.match(lineAbout(run, 'gina'), /^OK gina \d+\.\ds \(good\)$/, show(run));
    assert.match(run.stdout, /^ERROR \(norights\): cannot ask norights for its users: .*NO Permission denied .*not an IMAP admin: add it to `admins:`/m, show(run));
    assert.doesNotMatch(run.stdout, /ivan is on none of the configured servers/, show(run));
    assert.ok(!(await backedUp()).has('ivan'), 'ivan was not backed up');
  });

  test('3. backupd stopped: NO Retry operation, says to check _sync_host and that backupd runs', { timeout: TEST_TIMEOUT_MS }, async () => {
    const config = writeConfig('backupd-down', [good(), onImap2('nobackupd', { channel: 'offsite' })]);
    await offBed.stopBackupd();
    try {
      const run = await cli(['backup', 'gina', 'ivan', '-c', config]);
      assertGoodServerUnaffected(run);
      const ivan = lineAbout(run, 'ivan');
      assert.match(ivan, /^NO ivan \(nobackupd\): nobackupd: XBACKUP user\.ivan (offsite|wrongpw): NO Retry operation \(/, show(run));
      assert.match(ivan, /could not reach backupd or its sync login was refused: check <channel>_sync_host, _sync_port, _sync_authname, _sync_password/);
      assert.match(ivan, /that backupd runs/);
      assert.doesNotMatch(ivan, /in doubt/);

      // Without --canary, check cannot see backupd: it backs nobody up.
      const plain = await cli(['check', '-c', config]);
      assert.equal(plain.code, 0, show(plain));
      assert.match(plain.stdout, /^PASS nobackupd XBACKUP: .*only --canary shows that the channel is configured on the server and backupd is reachable/m, show(plain));

      const check = await cli(['check', '--canary', 'canary', '-c', config]);
      const fail = assertCheckFails(check, 'nobackupd');
      assert.match(check.stdout, /^PASS good canary canary: backed up in /m, show(check));
      assert.match(check.stdout, /^PASS nobackupd XBACKUP: /m, show(check));
      assert.match(fail, /^FAIL nobackupd canary canary: .*NO Retry operation .*_sync_host/, show(check));
    } finally {
      await offBed.startBackupd();
    }
  });

  test('4. wrong sync password: NO Retry operation, says to check _sync_password', { timeout: TEST_TIMEOUT_MS }, async () => {
    const config = writeConfig('wrong-sync-password', [good(), onImap2('wrongpw', { channel: 'wrongpw' })]);

    const run = await cli(['backup', 'gina', 'ivan', '-c', config]);
    assertGoodServerUnaffected(run);
    const ivan = lineAbout(run, 'ivan');
    assert.match(ivan, /^NO ivan \(wrongpw\): wrongpw: XBACKUP user\.ivan (offsite|wrongpw): NO Retry operation \(/, show(run));
    assert.match(ivan, /_sync_password/);
    assert.doesNotMatch(ivan, /in doubt/);

    const check = await cli(['check', '--canary', 'canary', '-c', config]);
    const fail = assertCheckFails(check, 'wrongpw');
    assert.match(check.stdout, /^PASS good canary canary: backed up in /m, show(check));
    assert.match(fail, /^FAIL wrongpw canary canary: .*NO Retry operation .*_sync_password/, show(check));
  });

  test('5. channel not configured on the IMAP server (imapd crashes): a dropped connection, users in doubt', { timeout: TEST_TIMEOUT_MS }, async () => {
    const config = writeConfig('no-channel', [good(), onImap2('nochannel', { channel: 'nochannel' })]);

    const run = await cli(['backup', 'gina', 'ivan', '-c', config]);
    assertGoodServerUnaffected(run);
    const ivan = lineAbout(run, 'ivan');
    assert.match(ivan, /^ERROR ivan \(nochannel\): nochannel: XBACKUP user\.ivan nochannel: connection lost before the tagged answer/, show(run));
    assert.match(ivan, /channel nochannel is probably not configured on nochannel/);
    assert.match(ivan, /\[in doubt: the server may still be backing it up\]$/);

    // check's probe (an XBACKUP of a user that does not exist) is answered `NO Mailbox does not exist`
    // before imapd looks at the channel, so only --canary can see this one; the PASS line says so.
    const plain = await cli(['check', '-c', config]);
    assert.equal(plain.code, 0, show(plain));
    assert.match(plain.stdout, /^PASS nochannel XBACKUP: .*channel "nochannel" \(only --canary shows/m, show(plain));

    const check = await cli(['check', '--canary', 'canary', '-c', config]);
    const fail = assertCheckFails(check, 'nochannel');
    assert.match(check.stdout, /^PASS good canary canary: backed up in /m, show(check));
    assert.match(fail, /^FAIL nochannel canary canary: .*connection lost before the tagged answer.*channel nochannel is probably not configured on nochannel/, show(check));
    // The canary is in doubt: the advice says unreported users may still be backed up by the server.
    assert.match(fail, /may still be backed up by the server/, show(check));
  });

  test('a broken server does not fail a run that does not touch it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const configs = [
      writeConfig('only-good-disabled', [good(), { name: 'off', port: offBed.imap.port, user: offBed.admin.user, password: offBed.admin.password, channel: offBed.channel }]),
      writeConfig('only-good-wrongpw', [good(), onImap2('wrongpw', { channel: 'wrongpw' })]),
      writeConfig('only-good-no-channel', [good(), onImap2('nochannel', { channel: 'nochannel' })]),
    ];
    for (const config of configs) {
      const run = await cli(['backup', 'gina', '-c', config]);
      assert.equal(run.code, 0, `${config}\n${show(run)}`);
      assert.match(lineAbout(run, 'gina'), /^OK gina \d+\.\ds \(good\)$/);
      assert.match(run.stdout, /^1 ok, 0 failed$/m);
    }
  });

  test('no password in the output even with --verbose and --json', { timeout: TEST_TIMEOUT_MS }, async () => {
    const configs = [
      writeConfig('verbose-disabled', [good(), { name: 'off', port: offBed.imap.port, user: offBed.admin.user, password: offBed.admin.password, channel: offBed.channel }]),
      writeConfig('verbose-not-admin', [good(), onImap2('norights', { user: NORM.userid, password: NORM.password })]),
      writeConfig('verbose-wrongpw', [good(), onImap2('wrongpw', { channel: 'wrongpw' })]),
      writeConfig('verbose-no-channel', [good(), onImap2('nochannel', { channel: 'nochannel' })]),
    ];
    for (const config of configs) {
      // cli() itself asserts that no secret appears.
      const run = await cli(['backup', 'gina', 'ivan', 'dora', 'hal', '-v', '--json', '-c', config]);
      assert.equal(run.code, 1, show(run));
      const check = await cli(['check', '--canary', 'canary', '-v', '--json', '-c', config]);
      assert.equal(check.code, 1, show(check));
    }
  });
});
