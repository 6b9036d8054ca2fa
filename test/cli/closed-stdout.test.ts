// A reader that goes away early (`report --json | head -c 300`, `history | head -1`): the built CLI, its
// stdout a real pipe whose reading end is closed after the first chunk, must end quietly (no EPIPE stack
// trace on stderr) with the exit code the command would have had (0 here), with the outputs written in pieces
// (JSON, history; the table and CSV are one write each, which a closed pipe did not crash).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AttemptLog } from '../../src/scheduler/state/attempt-log.js';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { MAIN } from '../support/run-cli.js';
import { writeFlatBackupsDb, writeSyntheticBackup } from '../support/synthetic-backup.js';

/** Users and attempts enough that the output is several times what a pipe holds (64 KiB on Linux). */
const USERS = 1500;
const ATTEMPTS = 3000;

const dir = mkdtempSync(join(tmpdir(), 'xbs-closed-stdout-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let config: string;

before(() => {
  const data = join(dir, 'data');
  const template = join(dir, 'template_X');
  writeSyntheticBackup(template, { chunkEnds: [Math.floor(Date.now() / 1000) - 600] });
  const rows = Array.from({ length: USERS }, (_, i) => {
    const userid = `user${String(i).padStart(5, '0')}`;
    const file = join(data, String(i % 10), `${userid}_X`);
    mkdirSync(join(data, String(i % 10)), { recursive: true });
    // Copies of one synthetic backup: writing 1,500 SQLite indexes one by one takes minutes on a busy disk.
    copyFileSync(template, file);
    copyFileSync(`${template}.index`, `${file}.index`);
    return [userid, file] as const;
  });
  writeFlatBackupsDb(join(dir, 'backups.db'), rows);
  writeFileSync(join(dir, 'imapd.conf'), `configdirectory: ${dir}\nbackuppartition-default: ${data}\nbackup_db: flat\n`);
  const state = join(dir, 'state.db');
  config = join(dir, 'config.yaml');
  writeFileSync(config, `backupd:\n  imapdConf: ${join(dir, 'imapd.conf')}\nstate: ${state}\nservers: []\n`);
  const db = openStateDb(state);
  try {
    const log = new AttemptLog(db);
    const at = Date.now() - 3_600_000;
    const ids = log.start(rows.flatMap(([userid]) => [0, 1].map((n) => ({ userid, server: 'imap1', kind: 'refresh' as const, group: null, pattern: `user.${userid}`, startedAt: at + n, chunkBefore: 1 }))).slice(0, ATTEMPTS));
    log.end(ids.map((id) => [id, { endedAt: at + 500, outcome: 'ok', error: null, locked: false, inDoubt: false, chunkAfter: 2, pattern: null }] as const));
  } finally {
    db.close();
  }
});

/** Runs the built CLI with its stdout a pipe, and closes the pipe's reading end as soon as the first chunk arrives. */
function runAndCloseEarly(args: readonly string[]): Promise<{ code: number | null; signal: string | null; stderr: string; read: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args, '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let read = 0;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.once('data', (chunk: Buffer) => {
      read = chunk.length;
      child.stdout.destroy();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, read }));
  });
}

describe('stdout closed by its reader after the first chunk', () => {
  for (const args of [['report', '--json'], ['history', '--limit', String(ATTEMPTS)], ['history', '--json', '--limit', String(ATTEMPTS)]]) {
    test(`${args.join(' ')} ends quietly, exit 0`, async () => {
      const r = await runAndCloseEarly(args);
      assert.equal(r.stderr, '', 'nothing on stderr');
      assert.deepEqual([r.code, r.signal], [0, null], r.stderr);
      assert.ok(r.read > 0, 'the reader got the first chunk');
    });
  }
});
