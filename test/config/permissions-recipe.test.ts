// The permissions the README documents are the ones the least-privilege test runs with: its setpriv line
// (for commands by hand and for Nagios) is the test's, word for word, and the systemd unit gives `run` the
// same user and the one capability, and is a unit systemd accepts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { backupServerPaths } from '../../src/config/backup-server.js';
import { parseImapdConf } from '../../src/config/imapd-conf.js';
import { sudoersRule } from '../../src/scheduler/maintenance/sudoers-rule.js';
import { repoRoot } from '../support/paths.js';
import { asScheduler } from '../support/system-user.js';

const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const UNIT_FILE = join(repoRoot, 'config/xbackup-scheduler.service');
const UNIT = readFileSync(UNIT_FILE, 'utf8');
const COMPACT_UNIT_FILE = join(repoRoot, 'config/xbackup-scheduler-compact.service');
const COMPACT_TIMER_FILE = join(repoRoot, 'config/xbackup-scheduler-compact.timer');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const NO_SYSTEMD_ANALYZE = existsSync(SYSTEMD_ANALYZE) ? false : `${SYSTEMD_ANALYZE} is absent (Debian package systemd)`;

/** The test's prefix for the README's user, without setpriv's own path. */
const FLAGS = asScheduler('xbackup').slice(1).join(' ');

function directives(unit: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) found.set(match[1]!, [...(found.get(match[1]!) ?? []), match[2]!]);
  }
  return found;
}

describe('the documented permissions are the tested ones', () => {
  test("README's setpriv alias for commands run by hand is the test's prefix", () => {
    assert.ok(README.includes(`alias xbs='setpriv ${FLAGS} xbackup-scheduler'`), `README must carry: alias xbs='setpriv ${FLAGS} xbackup-scheduler'`);
  });

  // /usr/local/bin: where `npm install -g` puts it with Debian's npm or Node.js's own tarball (the
  // install section says how to find it otherwise); sudoers needs the absolute path.
  test("README's Nagios command runs report through the same prefix, from npm's global bin", () => {
    const line = `/usr/bin/sudo /usr/bin/setpriv ${FLAGS} /usr/local/bin/xbackup-scheduler report --format nagios`;
    assert.ok(README.includes(line), `README must carry: ${line}`);
  });

  test('the systemd unit: the user, no Cyrus group, CAP_DAC_READ_SEARCH alone, no new privileges', () => {
    const d = directives(UNIT);
    assert.deepEqual(d.get('User'), ['xbackup']);
    assert.deepEqual(d.get('Group'), ['xbackup']);
    assert.equal(d.get('SupplementaryGroups'), undefined, 'no Cyrus group: group read does not last');
    assert.deepEqual(d.get('AmbientCapabilities'), ['CAP_DAC_READ_SEARCH']);
    assert.deepEqual(d.get('CapabilityBoundingSet'), ['CAP_DAC_READ_SEARCH']);
    assert.deepEqual(d.get('NoNewPrivileges'), ['yes']);
    assert.deepEqual(d.get('ProtectSystem'), ['strict']);
    assert.deepEqual(d.get('SystemCallFilter'), ['~open_by_handle_at']);
  });

  test('systemd-analyze verify accepts the unit', { skip: NO_SYSTEMD_ANALYZE }, () => {
    const result = spawnSync(SYSTEMD_ANALYZE, ['verify', UNIT_FILE], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr.trim(), '', 'no warning either');
  });
});

/** Whether `path` is `dir` or inside it. */
const within = (path: string, dir: string) => path === dir || path.startsWith(`${dir.replace(/\/$/, '')}/`);

// bootstrap.compactAfter and the unit disagreed: the unit (ProtectSystem=strict, user xbackup) could not let
// the `ctl_backups compact` child write, and the README said the tool never writes to Cyrus's files.
// Compaction is Cyrus's own tool as cyrus, in a unit of its own; the scheduler's unit keeps its write access
// to its state alone, and the README says so.
describe('compaction: its own unit, as the backups\' owner, writing where ctl_backups compact writes', () => {
  test('the compaction unit runs ctl_backups compact as cyrus, with write access to everything compaction writes on a Debian backupd', () => {
    assert.ok(existsSync(COMPACT_UNIT_FILE), `${COMPACT_UNIT_FILE} is missing`);
    const d = directives(readFileSync(COMPACT_UNIT_FILE, 'utf8'));
    assert.deepEqual(d.get('User'), ['cyrus'], 'ctl_backups runs only as cyrus (or root, which it leaves for cyrus)');
    assert.match(d.get('ExecStart')?.[0] ?? '', /\/ctl_backups -C \S+ compact -A$/);
    assert.deepEqual(d.get('ProtectSystem'), ['strict']);
    assert.deepEqual(d.get('NoNewPrivileges'), ['yes']);
    const conf = (d.get('Environment') ?? []).map((e) => /^CYRUS_BACKUPD_CONF=(.*)$/.exec(e)?.[1]).find((v) => v !== undefined);
    assert.equal(conf, '/etc/imapd.conf', "the conf ExecStart names is Debian's");
    // Debian's layout (configdirectory as its /etc/imapd.conf has it; a backup partition beside its mail
    // partition), and what compaction writes there, as strace showed on the test bed: backups.db opened
    // O_RDWR (for its lock), the data file and index rewritten through new files in their hash folder,
    // and chunks staged under backup_staging_path.
    const paths = backupServerPaths(parseImapdConf('configdirectory: /var/lib/cyrus\nbackuppartition-default: /var/spool/cyrus/backup\n', '/etc/imapd.conf'));
    const writes = [paths.backupsDb, ...[...paths.partitions.values()].map((p) => `${p}/a/anne_Xq3zL0.index.new`), `${paths.stagingPath}/sync./1234/chunk`];
    const writable = d.get('ReadWritePaths')?.flatMap((v) => v.split(/\s+/)) ?? [];
    const privateTmp = d.get('PrivateTmp')?.[0] === 'yes';
    for (const path of writes) {
      assert.ok(writable.some((dir) => within(path, dir)) || (privateTmp && within(path, '/tmp')), `${path} is read-only under ${COMPACT_UNIT_FILE} (ReadWritePaths: ${writable.join(' ')})`);
    }
  });

  test("the scheduler's unit writes its state alone, and the README and the unit send compaction to the compaction unit", () => {
    assert.deepEqual(directives(UNIT).get('ReadWritePaths'), ['/var/lib/xbackup-scheduler']);
    assert.ok(UNIT.includes('xbackup-scheduler-compact.service'), 'the unit says where compaction runs');
    assert.ok(!README.includes('never writes to any Cyrus file.'), 'no unqualified claim: compactAfter makes ctl_backups write');
    assert.ok(README.includes('systemctl enable --now xbackup-scheduler-compact.timer'), 'the README installs the compaction timer');
    assert.ok(README.includes('compactAfter` under the shipped unit'), "the README says to leave compactAfter off under the unit");
  });

  test('systemd-analyze verify accepts the compaction unit and its timer', { skip: NO_SYSTEMD_ANALYZE }, () => {
    const result = spawnSync(SYSTEMD_ANALYZE, ['verify', COMPACT_UNIT_FILE, COMPACT_TIMER_FILE], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr.trim(), '', 'no warning either');
  });
});

// maintenance.command through sudo: sudo is setuid root, which no_new_privs refuses, and systemd sets
// no_new_privs for a User= service with any of these (systemd.exec(5), "NoNewPrivileges=yes is implied").
const IMPLY_NO_NEW_PRIVILEGES = ['NoNewPrivileges', 'SystemCallFilter', 'SystemCallArchitectures', 'SystemCallLog', 'RestrictAddressFamilies', 'RestrictNamespaces', 'LockPersonality', 'MemoryDenyWriteExecute', 'RestrictRealtime', 'RestrictSUIDSGID', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectClock', 'ProtectHostname', 'PrivateDevices'];
const DROP_IN_FILE = join(repoRoot, 'config/xbackup-scheduler-maintenance.conf');
const SUDOERS_FILE = join(repoRoot, 'config/xbackup-scheduler.sudoers');
const VISUDO = '/usr/sbin/visudo';

describe('maintenance.command through sudo: the drop-in and the sudoers rule', () => {
  const dropIn = directives(readFileSync(DROP_IN_FILE, 'utf8'));
  const lifted = (value: string | undefined) => value === undefined || value === '' || value === 'no';

  test('the drop-in lifts every setting of the unit that would set no_new_privs, and lets sudo become cyrus', () => {
    for (const [key, values] of directives(UNIT)) {
      if (!IMPLY_NO_NEW_PRIVILEGES.includes(key) || key === 'PrivateDevices') continue;
      const last = dropIn.get(key)?.at(-1);
      assert.ok(last !== undefined && lifted(last), `${key}=${values.join(' ')} in the unit sets no_new_privs (so sudo cannot run); the drop-in must lift it`);
    }
    const caps = (dropIn.get('CapabilityBoundingSet') ?? []).flatMap((v) => v.split(/\s+/));
    for (const cap of ['CAP_SETUID', 'CAP_SETGID']) assert.ok(caps.includes(cap), `sudo needs ${cap} in the bounding set (seen: "unable to change to root gid")`);
    assert.deepEqual(dropIn.get('AmbientCapabilities'), undefined, 'nothing ambient: the scheduler process itself gains no capability');
  });

  test('the drop-in lets ctl_backups write where compaction writes on a Debian backupd', () => {
    const paths = backupServerPaths(parseImapdConf('configdirectory: /var/lib/cyrus\nbackuppartition-default: /var/spool/cyrus/backup\n', '/etc/imapd.conf'));
    const writable = dropIn.get('ReadWritePaths')?.flatMap((v) => v.split(/\s+/)) ?? [];
    for (const path of [paths.backupsDb, ...[...paths.partitions.values()].map((p) => `${p}/a/anne_Xq3zL0.index.new`)]) {
      assert.ok(writable.some((dir) => within(path, dir)), `${path} stays read-only under the drop-in`);
    }
  });

  test('systemd-analyze verify accepts the unit with the drop-in', { skip: NO_SYSTEMD_ANALYZE }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'xbs-dropin-'));
    try {
      mkdirSync(join(dir, 'xbackup-scheduler.service.d'));
      writeFileSync(join(dir, 'xbackup-scheduler.service'), UNIT);
      writeFileSync(join(dir, 'xbackup-scheduler.service.d/maintenance.conf'), readFileSync(DROP_IN_FILE));
      const result = spawnSync(SYSTEMD_ANALYZE, ['verify', join(dir, 'xbackup-scheduler.service')], { encoding: 'utf8', env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` } });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr.trim(), '', 'no warning either (an unknown key in the drop-in is one)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the shipped sudoers rule is the one check prints for Debian's paths, and the README's", () => {
    const rule = sudoersRule('xbackup', 'cyrus', '/usr/lib/cyrus/bin/ctl_backups', '/etc/imapd.conf');
    const lines = readFileSync(SUDOERS_FILE, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepEqual(lines, [rule]);
    assert.ok(README.includes(rule), `README must carry: ${rule}`);
    assert.ok(README.includes('/etc/systemd/system/xbackup-scheduler.service.d/maintenance.conf'), 'README installs the drop-in');
  });

  test('visudo accepts the sudoers file', { skip: existsSync(VISUDO) ? false : `${VISUDO} is absent (Debian package sudo)` }, () => {
    const result = spawnSync(VISUDO, ['-c', '-f', SUDOERS_FILE], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr + result.stdout);
  });
});

describe("the scheduler's system user, from config/xbackup-scheduler.sysusers.conf", () => {
  const SYSUSERS = '/usr/bin/systemd-sysusers';
  test('systemd-sysusers makes the user and group the unit and the setpriv line name: no home, no login, no other group', { skip: existsSync(SYSUSERS) ? false : `${SYSUSERS} is absent (Debian package systemd)` }, () => {
    const root = mkdtempSync(join(tmpdir(), 'xbs-sysusers-'));
    try {
      mkdirSync(join(root, 'etc'));
      const result = spawnSync(SYSUSERS, [`--root=${root}`, join(repoRoot, 'config/xbackup-scheduler.sysusers.conf')], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8').trim().split(':');
      const group = readFileSync(join(root, 'etc/group'), 'utf8').trim().split(':');
      assert.deepEqual([passwd[0], passwd[5], passwd[6]], ['xbackup', '/nonexistent', '/usr/sbin/nologin']);
      assert.ok(Number(passwd[2]) < 1000, `a system uid, got ${passwd[2]}`);
      assert.deepEqual([group[0], group[2], group[3]], ['xbackup', passwd[3], ''], 'its own group, with no members');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
