import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { readIndexPages } from '../../src/backupd/index-pages.js';
import { readBackupIndex } from '../../src/backupd/backup-summary.js';
import { BackupServerScanner } from '../../src/backupd/scan.js';
import { NotPlainPages } from '../../src/backupd/sqlite-file/not-plain-pages.js';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { SqliteScanCache } from '../../src/scheduler/state/scan-cache-store.js';
import { parseCtlBackupsJsonList } from '../support/ctl-backups-list.js';
import { runCliProcess } from '../support/run-cli.js';
import { useBed } from '../support/use-bed.js';

interface ReportJson {
  discovery: string;
  counts: Record<string, number>;
  users: Array<{ userid: string; state: string; lastBackup: string | null; dataFile: string | null; dataBytes: number | null; chunks: number | null; error: string | null }>;
}

describe('report from the backup server\'s files, against real Cyrus', () => {
  // A config of its own, without servers: the report reads the backup server's files alone.
  const { bed, work, config: configFile } = useBed({
    scratch: 'xbs-report-',
    async setup() {
      chmodSync(work, 0o711); // cyr_dbtool runs as cyrus and must reach the copy below
      for (const [userid, messages] of [['anne', 3], ['bob', 1], ['carol', 5]] as const) {
        await bed.createUser(userid, { messages, messageBytes: 3000 });
      }
      for (const pattern of ['user.anne', 'user.bob', 'user.carol', 'user.anne']) {
        const r = await bed.xbackup(pattern);
        assert.equal(r.status, 'OK', `XBACKUP ${pattern}: ${r.text}`);
      }
      writeFileSync(configFile, `backupd:\n  imapdConf: ${bed.backup.confPath}\nstate: ${join(work, 'state.db')}\npolicy:\n  maxAge: 1h\n`);
    },
  });

  /** A backups.db of our own (Cyrus's twoskip, written by cyr_dbtool as cyrus) in `folder`, naming these data files. */
  function backupsDbIn(folder: string, entries: ReadonlyArray<readonly [string, string]>): string {
    const dbFile = join(folder, 'backups.db');
    const batch = entries.map(([k, v]) => `SET {${Buffer.byteLength(k)}+}\r\n${k} {${Buffer.byteLength(v)}+}\r\n${v}\r\n`).join('');
    // The host's cyr_dbtool, with a config of its own: the bed's backupd may be another release, whose
    // files the host's cyrus user cannot read (twoskip is the same in 3.6 and 3.10, docs/cyrus-releases.md).
    const conf = join(folder, 'cyr_dbtool.conf');
    writeFileSync(conf, `configdirectory: ${folder}\n`);
    execFileSync('chown', ['-R', 'cyrus:mail', folder]);
    execFileSync('su', ['cyrus', '-s', '/bin/sh', '-c', `/usr/lib/cyrus/bin/cyr_dbtool -C ${conf} -n ${dbFile} twoskip batch`], {
      input: `BEGIN\r\n${batch}COMMIT\r\n`,
    });
    chmodSync(dbFile, 0o600);
    return dbFile;
  }

  /** A copy of `userid`'s backup (data file and index) in a folder of its own: Cyrus's own files are never touched. */
  async function copyOfBackup(userid: string, folder: string): Promise<string> {
    const live = await bed.cyrDbtoolShowBackupsDb();
    const copyDir = join(work, folder);
    mkdirSync(copyDir, { recursive: true });
    const copy = join(copyDir, `${userid}_COPY`);
    copyFileSync(live.get(userid)!, copy);
    copyFileSync(`${live.get(userid)!}.index`, `${copy}.index`);
    return copy;
  }

  test("lastBackup equals what ctl_backups prints, to the second; chunks and dataBytes equal the index and the file; the mailboxes are the index's live rows", async () => {
    const run = await runCliProcess(['report', '--json', '-c', configFile]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as ReportJson;
    const list = await bed.ctlBackups(['-j', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const expected = parseCtlBackupsJsonList(list.stdout);
    assert.deepEqual(report.users.map((u) => u.userid).sort(), ['anne', 'bob', 'carol']);
    assert.deepEqual(expected.map((e) => e.userid).sort(), ['anne', 'bob', 'carol']);
    for (const e of expected) {
      const u = report.users.find((x) => x.userid === e.userid)!;
      assert.equal(u.state, 'fresh');
      assert.equal(Math.floor(Date.parse(u.lastBackup!) / 1000), e.timestamp! / 1000, `${u.userid} lastBackup`);
      assert.equal(u.dataFile, e.fname);
      assert.equal(u.dataBytes, statSync(e.fname).size);
      const index = new Database(`${e.fname}.index`, { readonly: true });
      const { n: chunks, newest, last } = index
        .prepare('SELECT count(*) AS n, max(id) AS newest, (SELECT ts_end FROM chunk ORDER BY id DESC LIMIT 1) AS last FROM chunk')
        .get() as { n: number; newest: number; last: number };
      const mailboxes = index.prepare('SELECT mboxname, uidvalidity, last_uid, highestmodseq FROM mailbox WHERE deleted IS NULL ORDER BY id').raw().all();
      index.close();
      assert.equal(u.chunks, chunks);
      // The scan reads indexes backupd wrote from their pages, not through SQLite, and gets SQLite's answer
      // (once SQLite has read the first index of their schema in this process).
      readBackupIndex(e.fname);
      const pages = readIndexPages(`${e.fname}.index`);
      assert.ok(!(pages instanceof NotPlainPages), `${u.userid}: the page reader declined backupd's index: ${String(pages)}`);
      assert.deepEqual([pages.chunks, pages.newestId, pages.newestEnd], [chunks, newest, last]);
      assert.ok(mailboxes.length > 0, `${u.userid}: no live mailbox row`);
      assert.equal(pages.mailboxes.encoded(`${e.fname}.index`), JSON.stringify(mailboxes), `${u.userid}: the mailbox rows`);
    }
    assert.equal(report.users.find((u) => u.userid === 'anne')!.chunks, 2, 'two XBACKUPs of anne made two chunks');
    assert.equal(report.discovery, 'none');
  });

  test("backupd writes each chunk as a gzip member of its own at the chunk's offset, and length counts it uncompressed", async () => {
    // What the data file check relies on, and why it cannot ask for offset + length bytes: a chunk whose
    // mail compresses takes fewer.
    for (const [userid, dataFile] of await bed.cyrDbtoolShowBackupsDb()) {
      const data = readFileSync(dataFile);
      const index = new Database(`${dataFile}.index`, { readonly: true });
      const rows = index.prepare('SELECT id, offset, length FROM chunk ORDER BY id').all() as Array<{ id: number; offset: number; length: number }>;
      index.close();
      const onDisk = rows.map(({ id, offset, length }, i) => {
        const member = data.subarray(offset, rows[i + 1]?.offset ?? data.length);
        assert.deepEqual([...member.subarray(0, 3)], [0x1f, 0x8b, 0x08], `${userid} chunk ${id}`);
        assert.equal(gunzipSync(member).length, length, `${userid} chunk ${id}`);
        return member.length;
      });
      // The first chunk carries the mail, which compresses: its length is more than it takes on disk.
      assert.ok(rows[0]!.length > onDisk[0]!, `${userid}: chunk 1 has length ${rows[0]!.length} and takes ${onDisk[0]} bytes`);
    }
  });

  test('a corrupt index shows as unreadable with a reason while the other users still report', async () => {
    // Never touch Cyrus's files: a copy of carol's backup gets the garbage, and a backups.db of our own points at it.
    const live = await bed.cyrDbtoolShowBackupsDb();
    const copyDir = join(work, 'copy');
    execFileSync('mkdir', ['-p', copyDir]);
    const carolCopy = join(copyDir, 'carol_COPY');
    copyFileSync(live.get('carol')!, carolCopy);
    writeFileSync(`${carolCopy}.index`, Buffer.alloc(8192, 0x5a));
    const dbFile = backupsDbIn(copyDir, [['anne', live.get('anne')!], ['bob', live.get('bob')!], ['carol', carolCopy]]);
    const config = join(work, 'corrupt.yaml');
    writeFileSync(config, `backupd:\n  imapdConf: ${bed.backup.confPath}\n  backupsDb: ${dbFile}\nstate: ${join(work, 'state.db')}\n`);

    const run = await runCliProcess(['report', '--json', '-c', config]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as ReportJson;
    const carol = report.users.find((u) => u.userid === 'carol')!;
    assert.equal(carol.state, 'unreadable');
    assert.match(carol.error!, /carol_COPY\.index: .*(not a database|malformed)/);
    assert.deepEqual(report.users.filter((u) => u.userid !== 'carol').map((u) => u.state), ['fresh', 'fresh']);
    assert.equal(report.counts.unreadable, 1);

    const table = await runCliProcess(['report', '-c', config, '--sort', 'user']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^carol\s+unreadable\s+/m);
    assert.match(table.stdout, /^3 users: 2 fresh, 0 stale, 0 missing, 0 failing, 1 unreadable/m);
  });

  test("an index SQLite refuses over another table's schema row is unreadable with SQLite's reason", async () => {
    const carol = await copyOfBackup('carol', 'schema');
    const db = new Database(`${carol}.index`);
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    db.exec("UPDATE sqlite_schema SET sql = replace(sql, 'guid CHAR UNIQUE NOT NULL', 'guid CHAR UNIQUE NOT NULL,,') WHERE name = 'message'");
    db.close();
    const dbFile = backupsDbIn(join(work, 'schema'), [['carol', carol]]);
    const config = join(work, 'schema.yaml');
    writeFileSync(config, `backupd:\n  imapdConf: ${bed.backup.confPath}\n  backupsDb: ${dbFile}\n`);

    const run = await runCliProcess(['report', '--json', '-c', config]);
    assert.equal(run.code, 0, run.stderr);
    const [user] = (JSON.parse(run.stdout) as ReportJson).users;
    assert.equal(user!.state, 'unreadable');
    assert.match(user!.error!, /carol_COPY\.index: malformed database schema \(message\)/);
  });

  test('a data file deleted, truncated or replaced after a scan makes its user unreadable at the next, cold or warm', async () => {
    // anne was backed up twice: her newest chunk starts past the first.
    const anne = await copyOfBackup('anne', 'data');
    const original = readFileSync(anne);
    const index = new Database(`${anne}.index`, { readonly: true });
    const newest = index.prepare('SELECT offset FROM chunk ORDER BY id DESC LIMIT 1').pluck().get() as number;
    index.close();
    assert.ok(newest > 0);
    const paths = { backupsDb: backupsDbIn(join(work, 'data'), [['anne', anne]]), backupsDbFormat: 'twoskip' as const };
    const state = openStateDb(join(work, 'data', 'state.db'));
    try {
      const warm = new BackupServerScanner(paths, new SqliteScanCache(state));
      const changes: Array<[string, () => void, RegExp]> = [
        ['deleted', () => rmSync(anne), /anne_COPY: backup data file: ENOENT/],
        ['truncated within its newest chunk', () => writeFileSync(anne, original.subarray(0, newest + 10)), /anne_COPY: the data file is truncated/],
        ['replaced by another file of its size', () => {
          writeFileSync(`${anne}.new`, Buffer.alloc(original.length, 0x41));
          renameSync(`${anne}.new`, anne);
        }, /anne_COPY: no gzip member at byte/],
        ['replaced by a larger file', () => writeFileSync(anne, Buffer.alloc(2 * original.length, 0x41)), /anne_COPY: no gzip member at byte/],
      ];
      for (const [change, make, message] of changes) {
        writeFileSync(anne, original);
        const [intact] = (await warm.scan()).entries;
        assert.equal(intact!.error, null, `${change}: ${intact!.error?.message}`);
        assert.equal(intact!.index!.dataBytes, original.length);
        make();
        for (const [how, scanner] of [['warm', warm], ['cold', new BackupServerScanner(paths)]] as const) {
          const [entry] = (await scanner.scan()).entries;
          assert.equal(entry!.index, null, `${change}, ${how}: ${JSON.stringify(entry!.index)}`);
          assert.match(entry!.error!.message, message, `${change}, ${how}`);
        }
      }
      // Untouched again, a backup is read once and then reused.
      writeFileSync(anne, original);
      await warm.scan();
      await warm.scan();
      assert.equal(warm.lastStats.indexesReused, 1);
    } finally {
      state.close();
    }
  });

  test('nagios format exits with the plugin codes and turns an unreadable backups.db into UNKNOWN', async () => {
    const ok = await runCliProcess(['report', '--format', 'nagios', '-c', configFile]);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /^XBACKUP OK - 3 users, oldest \S+/);
    const broken = join(work, 'broken.yaml');
    const garbage = join(work, 'garbage.db');
    writeFileSync(garbage, 'this is not a cyrus database\n');
    writeFileSync(broken, `backupd:\n  imapdConf: ${bed.backup.confPath}\n  backupsDb: ${garbage}\n  backupsDbFormat: twoskip\n`);
    const unknown = await runCliProcess(['report', '--format', 'nagios', '-c', broken]);
    assert.equal(unknown.code, 3, unknown.stdout + unknown.stderr);
    assert.match(unknown.stdout, /^XBACKUP UNKNOWN - /);
    assert.match(unknown.stdout, /garbage\.db/);
  });

  test('the report never writes to Cyrus\'s files', async () => {
    const live = await bed.cyrDbtoolShowBackupsDb();
    const files = [bed.backup.backupsDbPath, ...[...live.values()].flatMap((f) => [f, `${f}.index`])];
    const before = files.map((f) => statSync(f).mtimeMs);
    const run = await runCliProcess(['report', '--json', '-c', configFile]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(files.map((f) => statSync(f).mtimeMs), before);
    for (const f of live.values()) {
      for (const suffix of ['-journal', '-wal', '-shm']) assert.throws(() => statSync(`${f}.index${suffix}`), /ENOENT/);
    }
  });
});
