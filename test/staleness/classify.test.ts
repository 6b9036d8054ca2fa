import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BackupIndexError } from '../../src/backupd/index-error.js';
import type { BackupdEntry, BackupdView } from '../../src/backupd/scan.js';
import type { FleetDiscovery } from '../../src/imap/fleet-discovery.js';
import { classifyUsers, type UserStatus } from '../../src/staleness/classify.js';
import type { UserHistory } from '../../src/staleness/user-history.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const H = 3_600_000;
const policy = { maxAge: 24 * H, failingAfter: 3 };

function entry(userid: string, lastBackup: number | null, extra: Partial<BackupdEntry> = {}): BackupdEntry {
  return {
    userid,
    dataFile: `/b/${userid[0]}/${userid}_X`,
    index: { lastBackup, newestChunkId: lastBackup === null ? null : 4, chunks: lastBackup === null ? 0 : 4, dataBytes: 1000 },
    error: null,
    ...extra,
  };
}

const view = (...entries: BackupdEntry[]): BackupdView => ({ backupsDb: '/c/backups.db', backupsDbExists: true, readAt: NOW, entries });

function fleet(servers: Record<string, string[] | Error>): FleetDiscovery {
  return {
    finishedAt: NOW,
    servers: Object.entries(servers).map(([name, users]) =>
      users instanceof Error
        ? { name, ok: false, error: users.message, users: [], allUserids: [], naming: null }
        : { name, ok: true, error: null, users: users.map((userid) => ({ userid, server: name, sizeBytes: 5000 })), allUserids: users, naming: { separator: '.' as const } },
    ),
  };
}

function history(h: Partial<UserHistory>): UserHistory {
  return { lastVerified: null, lastAttempt: null, consecutiveFailures: 0, inDoubtUntil: null, ...h };
}

function one(users: UserStatus[], userid: string): UserStatus {
  const u = users.find((x) => x.userid === userid);
  assert.ok(u, `${userid} is in the result`);
  return u;
}

describe('age against maxAge', () => {
  const cases: Array<[string, number, 'fresh' | 'stale']> = [
    ['one hour old', NOW - H, 'fresh'],
    ['one millisecond younger than maxAge', NOW - 24 * H + 1, 'fresh'],
    ['exactly maxAge (not younger, so stale)', NOW - 24 * H, 'stale'],
    ['older than maxAge', NOW - 30 * H, 'stale'],
  ];
  for (const [name, lastBackup, state] of cases) {
    test(name, () => {
      const { users } = classifyUsers({ backupd: view(entry('anne', lastBackup)), discovery: null, history: null, policy, now: NOW });
      assert.equal(users[0]!.state, state);
      assert.equal(users[0]!.age, NOW - lastBackup);
    });
  }

  test('a backup from the future is fresh but says the clocks disagree', () => {
    const { users } = classifyUsers({ backupd: view(entry('anne', NOW + 5 * 60_000)), discovery: null, history: null, policy, now: NOW });
    assert.equal(users[0]!.state, 'fresh');
    assert.equal(users[0]!.age, -300_000);
    assert.match(users[0]!.error!, /300 s in the future: check the clocks/);
  });

  test('age is measured from the later of the index and our own verified record (compaction moves ts_end back)', () => {
    const { users } = classifyUsers({
      backupd: view(entry('anne', NOW - 48 * H)),
      discovery: null,
      history: new Map([['anne', history({ lastVerified: NOW - 2 * H })]]),
      policy,
      now: NOW,
    });
    assert.equal(users[0]!.state, 'fresh');
    assert.equal(users[0]!.age, 2 * H);
    assert.equal(users[0]!.lastBackup, NOW - 48 * H, 'lastBackup still shows what the index says');
  });
});

describe('states from the join with discovery', () => {
  test('discovered with no backups.db entry, or an entry with no chunk: missing', () => {
    const { users, coverage } = classifyUsers({
      backupd: view(entry('bob', null)),
      discovery: fleet({ imap1: ['anne', 'bob'] }),
      history: null,
      policy,
      now: NOW,
    });
    assert.equal(coverage, 'complete');
    assert.equal(one(users, 'anne').state, 'missing');
    assert.equal(one(users, 'anne').server, 'imap1');
    assert.equal(one(users, 'anne').mailBytes, 5000);
    assert.equal(one(users, 'bob').state, 'missing');
  });

  test('an entry with no chunk is missing even offline', () => {
    const { users } = classifyUsers({ backupd: view(entry('bob', null)), discovery: null, history: null, policy, now: NOW });
    assert.equal(users[0]!.state, 'missing');
    assert.equal(users[0]!.age, null);
  });

  test('in backups.db but on no server, with every server asked: orphan', () => {
    const { users } = classifyUsers({ backupd: view(entry('gone', NOW - H)), discovery: fleet({ imap1: [] }), history: null, policy, now: NOW });
    assert.equal(users[0]!.state, 'orphan');
    assert.equal(users[0]!.server, null);
  });

  test('the shared-mailbox backup is never an orphan', () => {
    const { users } = classifyUsers({ backupd: view(entry('%SHARED', NOW - H)), discovery: fleet({ imap1: [] }), history: null, policy, now: NOW });
    assert.equal(users[0]!.state, 'fresh');
  });

  test('with a server unreachable nobody is an orphan and the coverage is partial', () => {
    const { users, coverage } = classifyUsers({
      backupd: view(entry('gone', NOW - H)),
      discovery: fleet({ imap1: [], imap2: new Error('connection refused') }),
      history: null,
      policy,
      now: NOW,
    });
    assert.equal(coverage, 'partial');
    assert.equal(users[0]!.state, 'fresh');
  });

  test('without discovery nobody is missing or orphan', () => {
    const { users, coverage } = classifyUsers({ backupd: view(entry('anne', NOW - H)), discovery: null, history: null, policy, now: NOW });
    assert.equal(coverage, 'none');
    assert.equal(users[0]!.state, 'fresh');
  });

  test('found on two servers: conflict, naming both', () => {
    const { users } = classifyUsers({
      backupd: view(entry('anne', NOW - H)),
      discovery: fleet({ imap1: ['anne'], imap2: ['anne'] }),
      history: null,
      policy,
      now: NOW,
    });
    assert.equal(users[0]!.state, 'conflict');
    assert.match(users[0]!.error!, /found on imap1 and imap2/);
  });

  test('an index that cannot be read: unreadable with the reason, others unaffected', () => {
    const broken = entry('carol', null, { index: null, error: new BackupIndexError('/b/c/carol_X.index', 'corrupt', 'file is not a database') });
    const { users } = classifyUsers({ backupd: view(entry('anne', NOW - H), broken), discovery: null, history: null, policy, now: NOW });
    assert.equal(one(users, 'carol').state, 'unreadable');
    assert.match(one(users, 'carol').error!, /carol_X\.index: file is not a database/);
    assert.equal(one(users, 'anne').state, 'fresh');
  });
});

describe('history', () => {
  const failed = (n: number) =>
    history({ consecutiveFailures: n, lastAttempt: { startedAt: NOW - H, outcome: 'no', error: 'The remote Server(s) denied the operation' } });

  test('failingAfter failures in a row: failing, carrying the last error', () => {
    const { users } = classifyUsers({ backupd: view(entry('anne', NOW - H)), discovery: null, history: new Map([['anne', failed(3)]]), policy, now: NOW });
    assert.equal(users[0]!.state, 'failing');
    assert.match(users[0]!.error!, /3 failed attempts in a row; last: The remote Server\(s\) denied the operation/);
    assert.equal(users[0]!.lastAttempt!.outcome, 'no');
  });

  test('fewer failures than failingAfter: still judged by age', () => {
    const { users } = classifyUsers({ backupd: view(entry('anne', NOW - H)), discovery: null, history: new Map([['anne', failed(2)]]), policy, now: NOW });
    assert.equal(users[0]!.state, 'fresh');
  });

  test('in doubt until the grace ends or a chunk newer than the attempt appears', () => {
    const started = NOW - 10 * 60_000;
    const doubt = history({ inDoubtUntil: NOW + H, lastAttempt: { startedAt: started, outcome: 'error', error: 'timeout' } });
    const run = (lastBackup: number, now = NOW) =>
      classifyUsers({ backupd: view(entry('anne', lastBackup)), discovery: null, history: new Map([['anne', doubt]]), policy, now }).users[0]!.inDoubt;
    assert.equal(run(NOW - 30 * H), true);
    assert.equal(run(started + 1000), false, 'a chunk that ended after the attempt began settles it');
    assert.equal(run(NOW - 30 * H, NOW + 2 * H), false, 'the grace has passed');
  });
});

test('the result is sorted by userid and covers the union of both sides exactly once', () => {
  const { users } = classifyUsers({
    backupd: view(entry('zed', NOW - H), entry('anne', NOW - H)),
    discovery: fleet({ imap1: ['bob', 'anne'] }),
    history: null,
    policy,
    now: NOW,
  });
  assert.deepEqual(users.map((u) => u.userid), ['anne', 'bob', 'zed']);
});
