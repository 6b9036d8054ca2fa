// Least privilege as README "Permissions" sets it up, against real Cyrus: the scheduler runs as a system
// user of its own, in no Cyrus group, with no grant on any Cyrus file, holding CAP_DAC_READ_SEARCH and
// nothing else (setpriv, as the README says for commands run by hand; the systemd unit gives `run` the
// same). It is driven through what broke the group-read setup the README used to describe: new users'
// first backups, for which backupd creates hash directories 0700 and files 0600, and a repack of
// backups.db by backupd itself, which renames a new 0600 file over it. The bed's backupd serves one
// connection per process (-U 1): a process that exits runs the repack its writes have made due, as
// Cyrus's own processes do after 250 connections or 60 s idle.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { writeBedConfig } from '../support/bed-config.js';
import { MAIN, runProcess, type CliResult } from '../support/run-cli.js';
import { writeSyntheticBackup } from '../support/synthetic-backup.js';
import { asScheduler, ensureSystemUser, folderClosedToOthers, removeSystemUser, systemUserUnavailableReason, type SystemUser } from '../support/system-user.js';
import { useBed } from '../support/use-bed.js';

const READER = 'xbs-test-reader';
/** New users per bootstrap while waiting for the repack; their long userids make each backups.db record about 500 bytes. */
const BATCH = 12;
/** twoskip repacks past 16,834 bytes: about 33 such users. A bound, so a backupd that never repacks fails the test. */
const MAX_BATCHES = 8;
const unavailable = systemUserUnavailableReason();
const closedFolder = folderClosedToOthers(MAIN);

interface ReportJson {
  counts: Record<string, number>;
  users: Array<{ userid: string; state: string; note?: string }>;
}

/** backups.db's inode and twoskip generation (header bytes 24..31, +1 per repack). */
function repackMarks(file: string): { ino: number; generation: bigint; mode: number } {
  const st = statSync(file);
  return { ino: st.ino, generation: readFileSync(file).readBigUInt64BE(24), mode: st.mode & 0o777 };
}

function show(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

describe('least privilege: the scheduler as its own user with CAP_DAC_READ_SEARCH, through new users and a backups.db repack', () => {
  if (unavailable !== undefined) {
    test.skip(unavailable);
    return;
  }
  if (closedFolder !== undefined) {
    // A failure, not a skip: the scheduler's user must reach its own install, and this checkout denies it.
    test('the checkout is reachable by the scheduler\'s user', () => {
      const mode = (statSync(closedFolder).mode & 0o777).toString(8);
      assert.fail(`${closedFolder} is mode ${mode}: ${READER} cannot reach ${MAIN} or its node_modules (CAP_DAC_READ_SEARCH does not cover access(2)). Run the tests from a checkout every user can traverse (chmod o+x ${closedFolder}).`);
    });
    return;
  }

  let reader: SystemUser;
  let config: string;
  let created = 0;

  const { bed, work } = useBed({
    bed: { backupdMaxUses: 1 },
    scratch: 'xbs-least-privilege-',
    async setup() {
      reader = ensureSystemUser(READER);
      // The fleet backupd already holds when the scheduler is installed.
      for (const userid of ['anne', 'bob']) {
        await bed.createUser(userid, { messages: 3 });
        const response = await bed.xbackup(bed.mailboxName(userid));
        assert.equal(response.status, 'OK', response.text);
      }
      // Like /var/lib/xbackup-scheduler (StateDirectory=): the scheduler's own, and nothing of Cyrus's.
      const stateDir = join(work, 'state');
      config = writeBedConfig(bed, stateDir, { extra: 'bootstrap:\n  groupSize: 50\n  pause: 10ms\n' });
      chmodSync(work, 0o755);
      chmodSync(stateDir, 0o700);
      for (const file of [stateDir, config, join(stateDir, 'admin.password')]) chownSync(file, reader.uid, reader.gid);
    },
    teardown: () => removeSystemUser(READER),
  });

  const cli = (args: string[]) => runProcess([...asScheduler(READER), process.execPath, MAIN, ...args, '-c', config], { timeoutMs: 180_000 });

  /** New users whose first letters make hash directories backupd has not created yet. */
  async function createUsers(count: number, name: (i: number) => string): Promise<string[]> {
    const userids = Array.from({ length: count }, (_, i) => name(created + i));
    created += count;
    for (const userid of userids) await bed.createUser(userid, { messages: 2, messageBytes: 1500 });
    return userids;
  }

  test('the reader is in no Cyrus group and backupd keeps its files to itself (the setup that broke group read)', () => {
    const groups = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .filter((line) => line.split(':')[3]?.split(',').includes(READER))
      .map((line) => line.split(':')[0]);
    assert.deepEqual(groups, [], `${READER} must be in no group but its own`);
    const mail = statSync(bed.backup.backupsDbPath).gid;
    assert.notEqual(reader.gid, mail);
    // The bed's folder is cyrus's own, 0700, like the folders a Debian backup server keeps under /var/lib/cyrus:
    // the reader gets past it by the capability alone.
    const bedDir = statSync(bed.dir);
    assert.equal(bedDir.mode & 0o077, 0, `${bed.dir} is open to nobody but its owner`);
    assert.notEqual(bedDir.uid, reader.uid);
    assert.equal(repackMarks(bed.backup.backupsDbPath).mode, 0o600, 'backupd creates backups.db 0600');
  });

  test('check: read access passes, by CAP_DAC_READ_SEARCH, and so do backups.db and the indexes', async () => {
    const check = await cli(['check']);
    assert.equal(check.code, 0, show(check));
    assert.match(check.stdout, new RegExp(`^PASS read access: uid ${reader.uid} \\(${READER}\\) with CAP_DAC_READ_SEARCH`, 'm'), show(check));
    assert.match(check.stdout, /^PASS backups\.db: .*: 2 backups, 2 indexes read$/m, show(check));
    assert.doesNotMatch(check.stdout, /^(FAIL|WARN)/m, show(check));
  });

  test('bootstrap: new users\' first backups, in new hash directories of mode 0700 and files of mode 0600, all verified', async () => {
    const userids = await createUsers(6, (i) => `${'cdefgh'[i]}user${i}`);
    const run = await cli(['bootstrap']);
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /^bootstrap: 6 ok, 0 failed, 0 left for later$/m, show(run));
    assert.doesNotMatch(run.stdout, /UNVERIFIED|ERROR|permission/, show(run));
    // What the reader got through: nothing there is readable by anyone but cyrus, by mode.
    const entries = await bed.cyrDbtoolShowBackupsDb();
    for (const userid of userids) {
      const data = entries.get(userid);
      assert.ok(data, `${userid} is in backups.db`);
      assert.equal(statSync(dirname(data)).mode & 0o777, 0o700, `${dirname(data)} is 0700`);
      assert.equal(statSync(data).mode & 0o777, 0o600, `${data} is 0600`);
      assert.equal(statSync(`${data}.index`).mode & 0o777, 0o600, `${data}.index is 0600`);
    }
  });

  test('backupd repacks backups.db into a new 0600 file while the reader bootstraps: every first backup verified before and after', async () => {
    const start = repackMarks(bed.backup.backupsDbPath);
    let batches = 0;
    let now = start;
    while (now.ino === start.ino && batches < MAX_BATCHES) {
      batches++;
      // Long userids (distinct first characters: more hash directories) make each new record large.
      await createUsers(BATCH, (i) => `${'ijklmnopqrstuvwxyz'[i % 18]}${String(i).padStart(3, '0')}-${'x'.repeat(180)}`);
      const run = await cli(['bootstrap']);
      assert.equal(run.code, 0, show(run));
      assert.match(run.stdout, new RegExp(`^bootstrap: ${BATCH} ok, 0 failed, 0 left for later$`, 'm'), show(run));
      now = repackMarks(bed.backup.backupsDbPath);
    }
    assert.notEqual(now.ino, start.ino, `backupd did not repack backups.db within ${batches * BATCH} first backups (generation ${start.generation} -> ${now.generation})`);
    assert.ok(now.generation > start.generation, `the generation went up with the new inode (${start.generation} -> ${now.generation})`);
    assert.equal(now.mode, 0o600, 'the repacked backups.db is a new file of mode 0600, which no earlier chmod or ACL covers');
    console.log(`backups.db repacked by backupd after ${batches} batches of ${BATCH} first backups: inode ${start.ino} -> ${now.ino}, generation ${start.generation} -> ${now.generation}`);
  });

  test('a journal beside an index, in a folder only the capability opens, is seen: the page reader leaves that read to SQLite', async () => {
    // fs.existsSync asks access(2), which ignores capabilities: it would answer "no journal" here, and the
    // pages would be read while a writer changes them.
    const folder = join(work, 'journal');
    const data = join(folder, 'a', 'anne_Xy12Ab');
    writeSyntheticBackup(data, { chunkEnds: [1_795_000_000] });
    writeFileSync(`${data}.index-journal`, Buffer.alloc(512, 1));
    chmodSync(folder, 0o700);
    const reader = pathToFileURL(join(dirname(MAIN), '../backupd/index-pages.js')).href;
    const script = `const m = await import(${JSON.stringify(reader)}); const r = m.readIndexPages(process.argv[1]); console.log(r.name ?? 'pages', r.message ?? '');`;
    const result = await runProcess([...asScheduler(READER), process.execPath, '--input-type=module', '-e', script, `${data}.index`]);
    assert.equal(result.code, 0, show(result));
    assert.equal(result.stdout.trim(), 'NotPlainPages a journal is present', show(result));
  });

  test('report --format nagios after the repack: OK, every user fresh, none unreadable', async () => {
    const nagios = await cli(['report', '--format', 'nagios']);
    assert.equal(nagios.code, 0, show(nagios));
    const total = 2 + created;
    assert.match(nagios.stdout, new RegExp(`^XBACKUP OK - ${total} users, `), show(nagios));
    assert.match(nagios.stdout, new RegExp(`fresh=${total} stale=0 missing=0 failing=0 unreadable=0 `), show(nagios));
    assert.doesNotMatch(nagios.stdout + nagios.stderr, /EACCES|UNKNOWN/, show(nagios));
  });

  test('run --once after the repack: the users created since get their first backups, verified', async () => {
    const userids = await createUsers(3, (i) => `${'abw'[i % 3]}new${i}`);
    const once = await cli(['run', '--once']);
    assert.equal(once.code, 0, show(once));
    const report = await cli(['report', '--json']);
    assert.equal(report.code, 0, show(report));
    const parsed = JSON.parse(report.stdout) as ReportJson;
    assert.equal(parsed.counts.fresh, 2 + created, report.stdout);
    assert.equal(parsed.counts.unreadable, 0, report.stdout);
    assert.equal(parsed.counts.missing, 0, report.stdout);
    for (const userid of userids) assert.equal(parsed.users.find((u) => u.userid === userid)?.state, 'fresh', `${userid}: ${report.stdout}`);
  });
});
