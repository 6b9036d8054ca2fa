// `history --maintenance`: the maintenance lane's ctl_backups runs from the state database, newest first, a
// user's alone with a userid, in text and JSON; a run a crash left open shows as interrupted; the XBACKUP
// attempts stay `history`'s without the option.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AttemptLog } from '../../src/scheduler/state/attempt-log.js';
import { MaintenanceLog } from '../../src/scheduler/state/maintenance-log.js';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { runCliInProcess } from '../support/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-history-maintenance-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'config.yaml');
const AT = Date.parse('2026-12-01T01:00:00Z');
const DAMAGE = 'failed (Input/output error): chunk 61 checksum mismatch';

before(() => {
  writeFileSync(join(dir, 'imapd.conf'), `configdirectory: ${dir}\nbackuppartition-default: ${join(dir, 'data')}\n`);
  writeFileSync(config, `backupd:\n  imapdConf: ${join(dir, 'imapd.conf')}\nstate: ${join(dir, 'state.db')}\nservers: []\n`);
  const db = openStateDb(join(dir, 'state.db'));
  try {
    const log = new MaintenanceLog(db);
    log.end(log.start('hot', 'verify', 'before-compact', 61, AT), 'ok', null, AT + 2_000);
    log.end(log.start('hot', 'compact', 'compact', 61, AT + 3_000), 'ok', null, AT + 5_000);
    log.end(log.start('rot', 'verify', 'rolling', 1, AT + 6_000), 'damaged', DAMAGE, AT + 7_000);
    // Left open by a crash: no scheduler holds the state database now.
    log.start('calm', 'verify', 'rolling', 3, AT + 8_000);
    const attempts = new AttemptLog(db);
    const [id] = attempts.start([{ userid: 'hot', server: 'imap1', kind: 'refresh', group: null, pattern: 'user.hot', startedAt: AT - 60_000, chunkBefore: 60 }]);
    attempts.end([[id!, { endedAt: AT - 59_000, outcome: 'ok', error: null, locked: false, inDoubt: false, chunkAfter: 61, pattern: null }]]);
  } finally {
    db.close();
  }
});

const history = async (...args: string[]) => {
  const r = await runCliInProcess(['history', ...args, '-c', config]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '');
};

describe('history --maintenance', () => {
  test('every run, newest first, with its outcome, why, chunks, time taken and what ctl_backups said', async () => {
    assert.deepEqual(await history('--maintenance'), [
      '2026-12-01T01:00:08.000Z  interrupted calm: verify (rolling, 3 chunks, cut off)',
      `2026-12-01T01:00:06.000Z  damaged     rot: verify (rolling, 1 chunk, 1s): ${DAMAGE}`,
      '2026-12-01T01:00:03.000Z  ok          hot: compact (compact, 61 chunks, 2s)',
      '2026-12-01T01:00:00.000Z  ok          hot: verify (before-compact, 61 chunks, 2s)',
    ]);
  });

  test("one user's runs, at most --limit, as JSON lines", async () => {
    const lines = (await history('hot', '--maintenance', '--json', '--limit', '1')).map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(lines, [
      { userid: 'hot', verb: 'compact', why: 'compact', startedAt: '2026-12-01T01:00:03.000Z', endedAt: '2026-12-01T01:00:05.000Z', outcome: 'ok', detail: null, chunks: 61 },
    ]);
  });

  test('without the option, the XBACKUP attempts alone; a user without runs is said so', async () => {
    const attempts = await history('hot');
    assert.equal(attempts.length, 1);
    assert.match(attempts[0]!, /ok +hot on imap1 \(refresh, 1s\)/);
    assert.deepEqual(await history('anne', '--maintenance'), ['no maintenance runs for anne']);
    assert.deepEqual(await history('anne', '--maintenance', '--json'), []);
  });
});
