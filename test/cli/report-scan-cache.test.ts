import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BackupServerScanner } from '../../src/backupd/scan.js';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { SqliteScanCache } from '../../src/scheduler/state/scan-cache-store.js';
import { runCliInProcess } from '../support/run-cli.js';
import { writeFlatBackupsDb, writeSyntheticBackup } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-report-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T = 1_795_000_000;

/** A backup server of two users, its config, and a state database the scheduler has scanned into. */
async function scannedByScheduler(name: string) {
  const root = join(dir, name);
  const files = ['anne', 'bob'].map((u) => join(root, 'data', u[0]!, `${u}_X`));
  files.forEach((f, i) => writeSyntheticBackup(f, { chunkEnds: [T + i] }));
  // Whole seconds, so that the test can put a rewritten file's mtime back exactly.
  for (const f of files) utimesSync(`${f}.index`, T, T);
  const conf = join(root, 'imapd.conf');
  writeFileSync(conf, `configdirectory: ${root}\nbackuppartition-default: ${join(root, 'data')}\nbackup_db: flat\n`);
  writeFlatBackupsDb(join(root, 'backups.db'), [['anne', files[0]!], ['bob', files[1]!]]);
  const state = join(root, 'state.db');
  const config = join(root, 'config.yaml');
  writeFileSync(config, `backupd:\n  imapdConf: ${conf}\nstate: ${state}\n`);
  const db = openStateDb(state);
  await new BackupServerScanner({ backupsDb: join(root, 'backups.db'), backupsDbFormat: 'flat' }, new SqliteScanCache(db)).scan();
  db.close();
  return { files, state, config };
}

const lastBackups = (stdout: string) =>
  Object.fromEntries((JSON.parse(stdout) as { users: Array<{ userid: string; lastBackup: string | null; state: string }> }).users.map((u) => [u.userid, u.lastBackup ?? u.state]));

test('report reads again only the indexes that changed since the scheduler read them, and never writes its state', async () => {
  const { files, state, config } = await scannedByScheduler('changed-index');
  // anne's index is overwritten in place with bytes SQLite cannot read, keeping its inode, size and mtime: to
  // the fingerprint it is unchanged, so the report must take the scheduler's summary instead of reading it.
  const anne = `${files[0]!}.index`;
  writeFileSync(anne, Buffer.alloc(statSync(anne).size, 0x41));
  utimesSync(anne, T, T);
  // bob's index has a new chunk: a new fingerprint, read again.
  writeSyntheticBackup(files[1]!, { chunkEnds: [T + 1, T + 500] });
  const stateBytes = readFileSync(state);

  const report = await runCliInProcess(['report', '--json', '--no-discovery', '-c', config]);
  assert.equal(report.code, 0, report.stderr);
  assert.deepEqual(lastBackups(report.stdout), { anne: new Date(T * 1000).toISOString(), bob: new Date((T + 500) * 1000).toISOString() });
  assert.deepEqual(readFileSync(state), stateBytes, 'the state database is untouched');

  // Without the scheduler's state, every index is read: anne's is now what it really is.
  rmSync(state);
  const full = await runCliInProcess(['report', '--json', '--no-discovery', '-c', config]);
  assert.equal(lastBackups(full.stdout).anne, 'unreadable');
});

test("report reads again a backup whose data file was replaced since the scheduler read it, though its index did not change", async () => {
  const { files, config } = await scannedByScheduler('replaced-data');
  // Another file of the same size put in its place (a restore gone wrong, a copy): the index is as it was.
  const anne = files[0]!;
  writeFileSync(`${anne}.new`, Buffer.alloc(statSync(anne).size, 0x41));
  renameSync(`${anne}.new`, anne);

  const report = await runCliInProcess(['report', '--json', '--no-discovery', '-c', config]);
  assert.equal(report.code, 0, report.stderr);
  assert.deepEqual(lastBackups(report.stdout), { anne: 'unreadable', bob: new Date((T + 1) * 1000).toISOString() });
  const anneRow = (JSON.parse(report.stdout) as { users: Array<{ userid: string; error: string | null }> }).users.find((u) => u.userid === 'anne');
  assert.match(anneRow!.error!, /anne_X: no gzip member at byte 0/);
});
