// What one attempt leaves in the state database: chunks a failed attempt left are not trusted, and an
// attempt in doubt that the index settles becomes the success it was.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { AttemptLog } from '../../src/scheduler/state/attempt-log.js';
import { MIGRATIONS } from '../../src/scheduler/state/migrations.js';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { UserMemory, type AttemptSettlement } from '../../src/scheduler/state/user-memory.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-memory-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const NOW = Date.parse('2026-12-01T12:00:00Z');
const POLICY = { baseDelay: 60_000, maxDelay: 3_600_000, inDoubtGrace: 7_200_000 };
let n = 0;

function stores() {
  const db = openStateDb(join(dir, `state-${n++}.db`));
  return { attempts: new AttemptLog(db), memory: new UserMemory(db), db };
}

const mark = (chunkId: number, lastBackup: number | null = chunkId === 0 ? null : NOW - 3_600_000) => ({ chunkId, lastBackup, dataBytes: chunkId * 100 });

function attempt(s: ReturnType<typeof stores>, userid: string, chunkBefore: number, outcome: AttemptSettlement['outcome'], after: number | null, extra: Partial<AttemptSettlement> = {}) {
  const [id] = s.attempts.start([{ userid, server: 'imap1', kind: 'first', group: null, pattern: `user.${userid}`, startedAt: NOW, chunkBefore }]);
  const settlement: AttemptSettlement = {
    userid,
    attemptId: id!,
    outcome,
    locked: false,
    inDoubt: false,
    connectionDropped: false,
    verifiedBackupAt: outcome === 'ok' ? NOW : null,
    chunks: { before: mark(chunkBefore), after: after === null ? null : mark(after, NOW) },
    ...extra,
  };
  s.attempts.end([[id!, { endedAt: NOW, outcome, error: outcome === 'ok' ? null : 'Bad protocol', locked: false, inDoubt: settlement.inDoubt, chunkAfter: after, pattern: null }]]);
  s.memory.settle([settlement], POLICY, NOW, () => 0.5);
}

describe('chunks left by failed attempts', () => {
  // [case, attempts as (chunk before, outcome, chunk after), untrusted through, trusted backup at]
  const cases: Array<[string, Array<[number, AttemptSettlement['outcome'], number | null]>, number | null, number | null]> = [
    ['a failed first backup that left chunk 1', [[0, 'no', 1]], 1, null],
    ['two failed first backups, each leaving a chunk', [[0, 'no', 1], [1, 'no', 2]], 2, null],
    ['a failed refresh that left a chunk after a whole backup', [[4, 'no', 5]], 5, NOW - 3_600_000],
    ['a failure that left nothing', [[4, 'no', 4]], null, null],
    ['a failure that left chunks, then a success', [[0, 'no', 1], [1, 'ok', 2]], null, null],
    ['an error whose index could not be read after', [[4, 'error', null]], null, null],
  ];
  for (const [name, steps, untrusted, trusted] of cases) {
    test(name, () => {
      const s = stores();
      for (const [before, outcome, after] of steps) attempt(s, 'big', before, outcome, after);
      const big = s.memory.all().get('big')!;
      assert.equal(big.untrustedThrough, untrusted);
      assert.equal(big.trustedBackupAt, trusted);
      s.db.close();
    });
  }

  test('in doubt after a dropped connection: a new chunk ends the doubt but is no success, and no chunk is trusted until one', () => {
    const s = stores();
    attempt(s, 'cut', 0, 'error', 0, { inDoubt: true, connectionDropped: true });
    let cut = s.memory.all().get('cut')!;
    assert.equal(cut.untrustedThrough, Number.MAX_SAFE_INTEGER);
    assert.equal(cut.trustedBackupAt, null);
    assert.equal(cut.inDoubtChunkBefore, 0);
    assert.deepEqual(s.memory.settleInDoubt(new Map([['cut', { chunkId: 1, lastBackup: NOW }]]), NOW), []);
    cut = s.memory.all().get('cut')!;
    assert.deepEqual([cut.inDoubtUntil, cut.consecutiveFailures, cut.lastAttempt!.outcome], [null, 1, 'error']);
    attempt(s, 'cut', 1, 'ok', 2);
    cut = s.memory.all().get('cut')!;
    assert.equal(cut.untrustedThrough, null);
    s.db.close();
  });

  test('in doubt after a timeout, a chunk that appears is not distrusted: it settles the attempt instead', () => {
    const s = stores();
    attempt(s, 'd002', 3, 'error', 3, { inDoubt: true });
    let d002 = s.memory.all().get('d002')!;
    assert.equal(d002.untrustedThrough, null);
    assert.equal(d002.inDoubtChunkBefore, 3);
    assert.equal(d002.consecutiveFailures, 1);
    assert.deepEqual(s.memory.settleInDoubt(new Map([['d002', { chunkId: 3, lastBackup: NOW }]]), NOW), [], 'no new chunk yet');
    assert.deepEqual(s.memory.settleInDoubt(new Map([['d002', { chunkId: 4, lastBackup: NOW + 1000 }]]), NOW + 5000), ['d002']);
    d002 = s.memory.all().get('d002')!;
    assert.equal(d002.consecutiveFailures, 0);
    assert.equal(d002.inDoubtUntil, null);
    assert.equal(d002.lastVerified, NOW + 1000);
    assert.equal(d002.lastAttempt!.outcome, 'ok');
    assert.match(d002.lastAttempt!.error!, /settled: the server finished it \(chunk 4 appeared\)/);
    assert.equal(s.attempts.history({ userid: 'd002' })[0]!.chunkAfter, 4);
    s.db.close();
  });

});

describe('lastVerified: the newest verified backup, null while there is none (never 1970)', () => {
  const T1 = NOW - 7_200_000;
  const T2 = NOW - 3_600_000;
  // [case, attempts as (chunk before, outcome, verified at), lastVerified after]
  const cases: Array<[string, Array<[number, AttemptSettlement['outcome'], number | null]>, number | null]> = [
    ['never backed up, two failed attempts', [[0, 'no', null], [0, 'no', null]], null],
    ['backed up outside the scheduler (chunk 4 already there), then its attempts failed', [[4, 'no', null], [4, 'error', null], [4, 'unverified', null]], null],
    ['verified once, then failures', [[4, 'ok', T1], [5, 'no', null], [5, 'error', null]], T1],
    ['verified, then verified again later', [[4, 'ok', T1], [5, 'ok', T2]], T2],
    ['a verified backup older than the one kept does not move it back', [[4, 'ok', T2], [5, 'ok', T1]], T2],
  ];
  for (const [name, steps, expected] of cases) {
    test(name, () => {
      const s = stores();
      for (const [before, outcome, verifiedAt] of steps) attempt(s, 'eve', before, outcome, before + (outcome === 'ok' ? 1 : 0), { verifiedBackupAt: verifiedAt });
      assert.equal(s.memory.all().get('eve')!.lastVerified, expected);
      s.db.close();
    });
  }

  test('a state database that stored 0 for "none" (an earlier release did) reads null after the upgrade; real times stay', () => {
    const file = join(dir, `stored-zero-${n++}.db`);
    const older = new Database(file);
    const version = MIGRATIONS.findIndex((m) => m.includes('last_in_sync')) + 1;
    older.exec(MIGRATIONS.slice(0, version).join(';\n'));
    older.pragma(`user_version = ${version}`);
    const insert = older.prepare('INSERT INTO user_memory (userid, last_verified, consecutive_failures) VALUES (?, ?, ?)');
    insert.run('eve', 0, 3);
    insert.run('anne', T1, 0);
    insert.run('bob', null, 1);
    older.close();

    const db = openStateDb(file);
    const memory = new UserMemory(db).all();
    assert.deepEqual(['eve', 'anne', 'bob'].map((u) => memory.get(u)!.lastVerified), [null, T1, null]);
    assert.equal(memory.get('eve')!.consecutiveFailures, 3);
    db.close();
  });
});

describe('a due user found in sync with its mailboxes', () => {
  test('recordInSync: an attempt row of its own outcome and the user’s lastInSync, never moving back', () => {
    const s = stores();
    s.attempts.recordInSync([{ userid: 'anne', server: 'imap1', pattern: 'user.anne', at: NOW, chunk: 4 }]);
    s.attempts.recordInSync([{ userid: 'anne', server: 'imap1', pattern: 'user.anne', at: NOW - 60_000, chunk: 4 }]);
    const [latest] = s.attempts.history({ userid: 'anne' });
    assert.equal(latest!.outcome, 'in-sync');
    assert.equal(latest!.chunkBefore, 4);
    assert.equal(latest!.chunkAfter, 4);
    assert.equal(s.attempts.history({ userid: 'anne' }).length, 2);
    const anne = s.memory.all().get('anne')!;
    assert.equal(anne.lastInSync, NOW);
    assert.equal(anne.lastAttempt, null, 'a check is not an attempt: failures and backoff are left as they were');
    assert.equal(anne.consecutiveFailures, 0);
  });

  test('a state database of the release before keeps every attempt and each user’s last one across the upgrade', () => {
    const file = join(dir, `before-in-sync-${n++}.db`);
    const older = new Database(file);
    const version = MIGRATIONS.findIndex((m) => m.includes('last_in_sync'));
    older.pragma('foreign_keys = ON');
    older.exec(MIGRATIONS.slice(0, version).join(';\n'));
    older.pragma(`user_version = ${version}`);
    older.prepare("INSERT INTO attempt (id, userid, server, kind, pattern, started_at, ended_at, outcome, chunk_before, chunk_after) VALUES (7, 'anne', 'imap1', 'refresh', 'user.anne', 1, 2, 'ok', 3, 4)").run();
    older.prepare('INSERT INTO user_memory (userid, last_verified, last_attempt_id) VALUES (?, ?, ?)').run('anne', 2, 7);
    older.close();

    const db = openStateDb(file);
    const memory = new UserMemory(db);
    const attempts = new AttemptLog(db);
    const anne = memory.all().get('anne')!;
    assert.deepEqual(anne.lastAttempt, { startedAt: 1, outcome: 'ok', error: null });
    assert.equal(anne.lastVerified, 2);
    assert.equal(anne.lastInSync, null);
    assert.equal(attempts.history()[0]!.chunkAfter, 4);
    attempts.recordInSync([{ userid: 'anne', server: 'imap1', pattern: 'user.anne', at: NOW, chunk: 4 }]);
    assert.equal(memory.all().get('anne')!.lastInSync, NOW);
    assert.throws(() => db.prepare("UPDATE attempt SET outcome = 'bogus' WHERE id = 7").run(), /CHECK constraint/);
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    db.close();
  });
});
