import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readChunkTableFromPages } from '../../src/backupd/chunk-table-from-pages.js';
import { NotPlainPages } from '../../src/backupd/sqlite-file/not-plain-pages.js';
import { CyrusTestBed } from '../cyrus/testbed.js';
import { parseCtlBackupsJsonList } from '../support/ctl-backups-list.js';
import { runCliProcess } from '../support/run-cli.js';

interface ReportJson {
  discovery: string;
  counts: Record<string, number>;
  users: Array<{ userid: string; state: string; lastBackup: string | null; dataFile: string | null; dataBytes: number | null; chunks: number | null; error: string | null }>;
}

describe('report from the backup server\'s files, against real Cyrus', () => {
  let bed: CyrusTestBed;
  let work: string;
  let configFile: string;

  before(async () => {
    bed = await CyrusTestBed.start();
    work = mkdtempSync(join(tmpdir(), 'xbs-report-'));
    chmodSync(work, 0o711); // cyr_dbtool runs as cyrus and must reach the copy below
    for (const [userid, messages] of [['anne', 3], ['bob', 1], ['carol', 5]] as const) {
      await bed.createUser(userid, { messages, messageBytes: 3000 });
    }
    for (const pattern of ['user.anne', 'user.bob', 'user.carol', 'user.anne']) {
      const r = await bed.xbackup(pattern);
      assert.equal(r.status, 'OK', `XBACKUP ${pattern}: ${r.text}`);
    }
    configFile = join(work, 'config.yaml');
    writeFileSync(configFile, `backupd:\n  imapdConf: ${bed.backup.confPath}\nstate: ${join(work, 'state.db')}\npolicy:\n  maxAge: 1h\n`);
  });

  after(async () => {
    await bed?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('lastBackup equals what ctl_backups prints, to the second; chunks and dataBytes equal the index and the file', async () => {
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
      index.close();
      assert.equal(u.chunks, chunks);
      // The scan reads indexes backupd wrote from their pages, not through SQLite, and gets SQLite's answer.
      const pages = readChunkTableFromPages(`${e.fname}.index`);
      assert.ok(!(pages instanceof NotPlainPages), `${u.userid}: the page reader declined backupd's index: ${String(pages)}`);
      assert.deepEqual([pages.chunks, pages.newestId, pages.newestEnd], [chunks, newest, last]);
    }
    assert.equal(report.users.find((u) => u.userid === 'anne')!.chunks, 2, 'two XBACKUPs of anne made two chunks');
    assert.equal(report.discovery, 'none');
  });

  test('a corrupt index shows as unreadable with a reason while the other users still report', async () => {
    // Never touch Cyrus's files: a copy of carol's backup gets the garbage, and a backups.db of our own points at it.
    const live = await bed.cyrDbtoolShowBackupsDb();
    const copyDir = join(work, 'copy');
    execFileSync('mkdir', ['-p', copyDir]);
    const carolCopy = join(copyDir, 'carol_COPY');
    copyFileSync(live.get('carol')!, carolCopy);
    writeFileSync(`${carolCopy}.index`, Buffer.alloc(8192, 0x5a));
    const dbFile = join(copyDir, 'backups.db');
    const batch = [['anne', live.get('anne')!], ['bob', live.get('bob')!], ['carol', carolCopy]]
      .map(([k, v]) => `SET {${Buffer.byteLength(k!)}+}\r\n${k} {${Buffer.byteLength(v!)}+}\r\n${v}\r\n`)
      .join('');
    execFileSync('chown', ['-R', 'cyrus:mail', copyDir]);
    execFileSync('su', ['cyrus', '-s', '/bin/sh', '-c', `/usr/lib/cyrus/bin/cyr_dbtool -C ${bed.backup.confPath} -n ${dbFile} twoskip batch`], {
      input: `BEGIN\r\n${batch}COMMIT\r\n`,
    });
    chmodSync(dbFile, 0o600);
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
