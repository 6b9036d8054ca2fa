// A damaged state database is named, with what to do, whichever command reads it.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { runCliInProcess } from '../support/run-cli.js';
import { writeFlatBackupsDb } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-state-damaged-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('history and report name the damaged state database and say what to do (exit 4)', async () => {
  const state = join(dir, 'state.db');
  const db = openStateDb(state);
  const insert = db.prepare("INSERT INTO attempt (userid, server, kind, pattern, started_at) VALUES (?, 'imap1', 'refresh', 'user.x', 1)");
  for (let i = 0; i < 2000; i++) insert.run(`user${i}`);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  // Every page past the first overwritten: the schema still loads, the tables do not.
  const fd = openSync(state, 'r+');
  writeSync(fd, Buffer.alloc(statSync(state).size - 4096, 0xff), 0, undefined, 4096);
  closeSync(fd);
  writeFileSync(join(dir, 'imapd.conf'), `configdirectory: ${dir}\nbackuppartition-default: ${dir}\nbackup_db: flat\n`);
  writeFlatBackupsDb(join(dir, 'backups.db'), []);
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `backupd:\n  imapdConf: ${join(dir, 'imapd.conf')}\nstate: ${state}\n`);

  for (const args of [['history'], ['report', '--no-discovery']]) {
    const r = await runCliInProcess([...args, '-c', config]);
    assert.equal(r.code, 4, `${args[0]}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`state database ${state.replaceAll('/', '\\/')}: is damaged \\(SQLITE_CORRUPT.*no backup is in it; stop the scheduler, move the file aside`));
  }
});
