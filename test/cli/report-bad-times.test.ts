// One chunk time that is no time (out of range, negative, REAL, TEXT, NULL) makes that one user
// unreadable, in every output format; the others report as before, and nothing crashes.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCliInProcess } from '../support/run-cli.js';
import { writeFlatBackupsDb, writeSyntheticBackup } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-bad-times-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const NOW_S = Math.floor(Date.now() / 1000);

/** Each bad user's newest ts_end, as SQLite stores it. */
const BAD: ReadonlyArray<readonly [string, unknown]> = [
  ['ten13', 10 ** 13],
  ['max53', Number.MAX_SAFE_INTEGER],
  ['negative', -1],
  ['real', NOW_S + 0.5],
  ['text', 'soon'],
  ['nullend', null],
];

function setup() {
  const data = join(dir, 'data');
  const entries: Array<[string, string]> = [];
  for (const userid of ['anne', ...BAD.map(([u]) => u)]) {
    const file = join(data, userid[0]!, `${userid}_X`);
    writeSyntheticBackup(file, { chunkEnds: [NOW_S - 3600, NOW_S - 60] });
    entries.push([userid, file]);
  }
  for (const [userid, value] of BAD) {
    const db = new Database(`${join(data, userid[0]!, `${userid}_X`)}.index`);
    db.prepare('UPDATE chunk SET ts_end = ? WHERE id = 2').run(value);
    db.close();
  }
  const conf = join(dir, 'imapd.conf');
  writeFileSync(conf, `configdirectory: ${dir}\nbackuppartition-default: ${data}\nbackup_db: flat\n`);
  writeFlatBackupsDb(join(dir, 'backups.db'), entries);
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `backupd:\n  imapdConf: ${conf}\nstate: ${join(dir, 'state.db')}\npolicy:\n  maxAge: 24h\n`);
  return config;
}

describe('a chunk time that is no time', () => {
  const config = setup();
  const report = (...args: string[]) => runCliInProcess(['report', '--no-discovery', '-c', config, ...args]);

  test('report --json: whole JSON, the bad users unreadable naming their chunk, anne fresh', async () => {
    const r = await report('--json');
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { counts: Record<string, number>; users: Array<{ userid: string; state: string; error: string | null; lastBackup: string | null }> };
    assert.equal(json.counts.unreadable, BAD.length);
    assert.equal(json.users.find((u) => u.userid === 'anne')!.state, 'fresh');
    for (const [userid] of BAD) {
      const u = json.users.find((x) => x.userid === userid)!;
      assert.equal(u.state, 'unreadable', userid);
      assert.match(u.error!, /chunk 2's ts_end is not a time/, userid);
      assert.equal(u.lastBackup, null);
    }
  });

  test('csv, table, prometheus and nagios all write every user', async () => {
    const csv = await report('--format', 'csv');
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(csv.stdout.trim().split('\n').length, 1 + 1 + BAD.length);
    const table = await report();
    assert.equal(table.code, 0, table.stderr);
    assert.doesNotMatch(table.stdout, /NaN|Invalid/);
    for (const [userid] of BAD) assert.match(table.stdout, new RegExp(`${userid}\\s+unreadable`));
    const prom = await report('--format', 'prometheus');
    assert.equal(prom.code, 0, prom.stderr);
    assert.match(prom.stdout, new RegExp(`xbackup_users\\{state="unreadable"\\} ${BAD.length}`));
    const nagios = await report('--format', 'nagios');
    assert.equal(nagios.code, 1, nagios.stdout);
    assert.match(nagios.stdout, new RegExp(`^XBACKUP WARNING - ${BAD.length} unreadable`));
  });
});
