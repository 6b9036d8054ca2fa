// What the scheduler says when it may not read one of backupd's files: each kind of file (backups.db, an
// index, a data file, a directory on the way, the backup server's imapd.conf), read by an unprivileged
// user without CAP_DAC_READ_SEARCH. Every message names the path that refused, its owner and mode, and
// what to grant, and none says the file is corrupt or damaged. The reads run in this process with the
// user's effective uid and gid (seteuid, and back to root after each), on files of a synthetic backup
// server made here, so that no Cyrus file is ever changed.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BackupsDbReader } from '../../src/backupd/backups-listing.js';
import { CyrusDbError } from '../../src/backupd/cyrusdb/errors.js';
import { readCyrusDb } from '../../src/backupd/cyrusdb/snapshot.js';
import { BackupIndexError } from '../../src/backupd/index-error.js';
import { readIndexOf } from '../../src/backupd/scan-read.js';
import { readBackupIndex } from '../../src/backupd/backup-summary.js';
import { BackupServerScanner } from '../../src/backupd/scan.js';
import { MemoryScanCache } from '../support/memory-scan-cache.js';
import { ConfigError } from '../../src/config/errors.js';
import { readImapdConf } from '../../src/config/imapd-conf.js';
import { readAccessOfThisProcess } from '../../src/config/read-access.js';
import { NO_CHUNK } from '../../src/scheduler/backup-result.js';
import { verifyBackups } from '../../src/scheduler/verify-backups.js';
import { ensureSystemUser, removeSystemUser, systemUserUnavailableReason, type SystemUser } from '../support/system-user.js';
import { writeFlatBackupsDb, writeSyntheticBackup } from '../support/synthetic-backup.js';

const DENIED = 'xbs-test-denied';
const T = 1_795_000_000;
const unavailable = systemUserUnavailableReason();

/** What every permission message must carry: the grant that lasts, and never a word of damage. */
function assertPermissionMessage(message: string, path: string, refusal: RegExp): void {
  assert.ok(message.startsWith(path), `starts with the file read: ${message}`);
  assert.match(message, refusal);
  assert.match(message, /CAP_DAC_READ_SEARCH/, message);
  assert.match(message, /AmbientCapabilities=CAP_DAC_READ_SEARCH/, message);
  assert.doesNotMatch(message, /corrupt|damaged|truncated|reindex|not a database/i, message);
}

describe('permission errors name the path that refused and what to grant, never damage', () => {
  if (unavailable !== undefined) {
    test.skip(unavailable);
    return;
  }

  let user: SystemUser;
  let root: string;
  let conf: string;
  let backupsDb: string;
  const files: Record<string, string> = {};

  /** `read` as the user: its uid and gid effective, its group alone, no capability (they go with euid 0). */
  async function asUser<T>(read: () => T | Promise<T>): Promise<T> {
    const groups = process.getgroups!();
    process.setgroups!([user.gid]);
    process.setegid!(user.gid);
    process.seteuid!(user.uid);
    try {
      return await read();
    } finally {
      process.seteuid!(0);
      process.setegid!(0);
      process.setgroups!(groups);
    }
  }

  before(() => {
    user = ensureSystemUser(DENIED);
    root = mkdtempSync(join(tmpdir(), 'xbs-read-access-'));
    chmodSync(root, 0o755);
    // A backup server as backupd lays it out, owned by root, readable by all until a test takes that away.
    conf = join(root, 'imapd.conf');
    const configDir = join(root, 'conf');
    const partition = join(root, 'data');
    writeFileSync(conf, `configdirectory: ${configDir}\nbackuppartition-default: ${partition}\nbackup_db: flat\n`, { mode: 0o644 });
    for (const userid of ['anne', 'bob', 'carl', 'dave']) {
      files[userid] = join(partition, userid[0]!, `${userid}_Xy12Ab`);
      writeSyntheticBackup(files[userid], { chunkEnds: [T] });
    }
    backupsDb = join(configDir, 'backups.db');
    mkdirSync(configDir);
    writeFlatBackupsDb(backupsDb, Object.entries(files));
    chmodSync(configDir, 0o755);
    for (const file of [backupsDb, ...Object.values(files).flatMap((f) => [f, `${f}.index`])]) chmodSync(file, 0o644);
  });

  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    removeSystemUser(DENIED);
  });

  const refusedBy = (path: string, mode: string) =>
    new RegExp(`${path.replaceAll('.', '\\.')}: .*permission denied: it \\(owner root:root, mode ${mode}\\) is not readable by uid \\d+ \\(${DENIED}\\)`);

  test('the control: as that user, what is readable reads', async () => {
    const summary = await asUser(() => readBackupIndex(files.dave!));
    assert.equal(summary.lastBackup, T * 1000);
    const db = await asUser(() => readCyrusDb(backupsDb, { backend: 'flat' }));
    assert.equal(db.entries.length, 4);
  });

  test('backups.db of mode 0600: NO_ACCESS, naming it and the grant (Nagios shows this as UNKNOWN)', async () => {
    chmodSync(backupsDb, 0o600);
    try {
      const error = await asUser(() => readCyrusDb(backupsDb, { backend: 'flat' }).then(() => assert.fail('read a file it may not read')).catch((e: unknown) => e));
      assert.ok(error instanceof CyrusDbError, String(error));
      assert.equal(error.code, 'NO_ACCESS');
      assertPermissionMessage(error.message, backupsDb, refusedBy(backupsDb, '0600'));
    } finally {
      chmodSync(backupsDb, 0o644);
    }
  });

  test('a configdirectory of mode 0700 on the way to backups.db: names that directory', async () => {
    const configDir = join(root, 'conf');
    chmodSync(configDir, 0o700);
    try {
      const error = await asUser(() => readCyrusDb(backupsDb, { backend: 'flat' }).catch((e: unknown) => e));
      assert.ok(error instanceof CyrusDbError && error.code === 'NO_ACCESS', String(error));
      assertPermissionMessage(error.message, backupsDb, new RegExp(`the directory ${configDir} \\(owner root:root, mode 0700\\) on its path is not searchable by uid ${user.uid} \\(${DENIED}\\)`));
    } finally {
      chmodSync(configDir, 0o755);
    }
  });

  test('an index of mode 0600: the user is unreadable for lack of permission, naming the index', async () => {
    const index = `${files.anne!}.index`;
    chmodSync(index, 0o600);
    try {
      for (const read of [() => readBackupIndex(files.anne!), () => readIndexOf(files.anne!).error!]) {
        const error = await asUser(() => {
          try {
            return read();
          } catch (e) {
            return e;
          }
        });
        assert.ok(error instanceof BackupIndexError, String(error));
        assert.equal(error.problem, 'permission');
        assertPermissionMessage(error.message, index, refusedBy(index, '0600'));
      }
    } finally {
      chmodSync(index, 0o644);
    }
  });

  test('a data file of mode 0600 (as backupd creates every one): names the data file', async () => {
    const data = files.bob!;
    chmodSync(data, 0o600);
    try {
      const error = await asUser(() => readIndexOf(data).error);
      assert.ok(error instanceof BackupIndexError, String(error));
      assert.equal(error.problem, 'permission');
      assertPermissionMessage(error.message, data, refusedBy(data, '0600'));
    } finally {
      chmodSync(data, 0o644);
    }
  });

  test('a hash directory of mode 0700 (as backupd creates every one): names the directory, also when a scan had read it before', async () => {
    const hashDir = join(root, 'data', 'c');
    const scanner = new BackupServerScanner({ backupsDb, backupsDbFormat: 'flat' }, new MemoryScanCache(), Date.now, { scansOnce: true });
    // Read once with access (its fingerprints are kept), then the directory closes: the next scan's stats meet EACCES.
    const first = await scanner.scan();
    assert.equal(first.entries.find((e) => e.userid === 'carl')?.error, null);
    chmodSync(hashDir, 0o700);
    try {
      const view = await asUser(() => scanner.scan());
      const carl = view.entries.find((e) => e.userid === 'carl')!;
      assert.ok(carl.error, 'carl is unreadable');
      assert.equal(carl.error.problem, 'permission');
      assertPermissionMessage(
        carl.error.message,
        `${files.carl!}.index`,
        new RegExp(`the directory ${hashDir} \\(owner root:root, mode 0700\\) on its path is not searchable by uid ${user.uid} \\(${DENIED}\\)`),
      );
      assert.deepEqual(view.entries.filter((e) => e.error).map((e) => e.userid), ['carl'], 'the others still read');
    } finally {
      chmodSync(hashDir, 0o755);
      await scanner.close();
    }
  });

  test('backups.db unreadable after an XBACKUP: its users are unverified, saying why, instead of left open', async () => {
    chmodSync(backupsDb, 0o600);
    try {
      const reader = new BackupsDbReader({ backupsDb, backupsDbFormat: 'flat' });
      const results = await asUser(() => verifyBackups(reader, ['anne'], new Map([['anne', NO_CHUNK]]), new Set(['anne'])));
      assert.equal(results.length, 1);
      assert.equal(results[0]!.verified, false);
      assertPermissionMessage(results[0]!.reason!, backupsDb, refusedBy(backupsDb, '0600'));
    } finally {
      chmodSync(backupsDb, 0o644);
    }
  });

  test("the backup server's imapd.conf of mode 0600: a configuration error naming it and the grant", async () => {
    chmodSync(conf, 0o600);
    try {
      const error = await asUser(() => {
        try {
          return readImapdConf(conf);
        } catch (e) {
          return e;
        }
      });
      assert.ok(error instanceof ConfigError, String(error));
      assertPermissionMessage(error.message, conf, refusedBy(conf, '0600'));
    } finally {
      chmodSync(conf, 0o644);
    }
  });

  test('check\'s read-access verdict: lasting as root; not lasting for a user that reads by mode alone, saying why', async () => {
    assert.equal(readAccessOfThisProcess(join(root, 'conf'))?.lasting, true);
    const verdict = await asUser(() => readAccessOfThisProcess(join(root, 'conf')));
    assert.equal(verdict?.lasting, false);
    assert.equal(verdict?.cyrusTools, false);
    assert.match(verdict!.detail, /mode 0600/);
    assert.match(verdict!.detail, /AmbientCapabilities=CAP_DAC_READ_SEARCH/);
  });
});
