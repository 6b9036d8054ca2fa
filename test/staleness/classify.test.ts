import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BackupIndexError } from '../../src/backupd/index-error.js';
import type { BackupdEntry, BackupdView } from '../../src/backupd/scan.js';
import type { FleetDiscovery } from '../../src/imap/fleet-discovery.js';
import { classifyUsers, type UserStatus } from '../../src/staleness/classify.js';
import type { UserHistory } from '../../src/staleness/user-history.js';
import { userHistory } from '../support/user-history.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const H = 3_600_000;
const policy = { maxAge: 24 * H, failingAfter: 3, maxUnchangedAge: 7 * 24 * H };

function entry(userid: string, lastBackup: number | null, extra: Partial<BackupdEntry> = {}): BackupdEntry {
  return {
    userid,
    dataFile: `/b/${userid[0]}/${userid}_X`,
    index: { lastBackup, newestChunkId: lastBackup === null ? null : 4, chunks: lastBackup === null ? 0 : 4, dataBytes: 1000, mailboxes: '[]' },
    error: null,
    ...extra,
  };
}

const view = (...entries: BackupdEntry[]): BackupdView => ({ backupsDb: '/c/backups.db', backupsDbExists: true, readAt: NOW, entries });

function fleet(servers: Record<string, string[] | Error>): FleetDiscovery {
  return {
    startedAt: NOW - 60_000,
    finishedAt: NOW,
    servers: Object.entries(servers).map(([name, users]) =>
      users instanceof Error
        ? { name, ok: false, error: users.message, users: [], allUserids: [], sharedMailboxes: [], timeOnly: null, liveProblems: [], naming: null, askedAt: NOW - 60_000, endedAt: NOW }
        : { name, ok: true, error: null, users: users.map((userid) => ({ userid, server: name, sizeBytes: 5000, live: null })), allUserids: users, sharedMailboxes: [], timeOnly: null, liveProblems: [], naming: { separator: '.' as const }, askedAt: NOW - 60_000, endedAt: NOW },
    ),
  };
}

const history = userHistory;

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

  // The class: a newest chunk dated just past the tolerance, an hour, a year, a millennium ahead.
  for (const [name, ahead] of [['2 minutes', 2 * 60_000], ['an hour', H], ['a year', 365 * 24 * H], ['7,000 years', 7000 * 365 * 24 * H]] as const) {
    test(`a newest chunk dated ${name} in the future is not believed: stale with no age, saying why`, () => {
      const { users } = classifyUsers({ backupd: view(entry('anne', NOW + ahead)), discovery: null, history: null, policy, now: NOW });
      assert.equal(users[0]!.state, 'stale');
      assert.equal(users[0]!.age, null);
      assert.equal(users[0]!.lastBackup, NOW + ahead, 'lastBackup still shows what the index says');
      assert.match(users[0]!.error!, /in the future: not believed/);
    });
  }

  test('a newest chunk within a minute of now is believed (the report ran while it was written)', () => {
    const { users } = classifyUsers({ backupd: view(entry('anne', NOW + 30_000)), discovery: null, history: null, policy, now: NOW });
    assert.equal(users[0]!.state, 'fresh');
    assert.equal(users[0]!.error, null);
  });

  test('a future-dated chunk falls back on our own verified record, and says so', () => {
    const { users } = classifyUsers({
      backupd: view(entry('anne', NOW + 365 * 24 * H)),
      discovery: null,
      history: new Map([['anne', history({ lastVerified: NOW - 30 * H })]]),
      policy,
      now: NOW,
    });
    assert.equal(users[0]!.state, 'stale');
    assert.equal(users[0]!.age, 30 * H);
    assert.match(users[0]!.error!, /in the future: not believed/);
  });

  test('a verified record dated in the future is not believed either', () => {
    const { users } = classifyUsers({
      backupd: view(entry('anne', NOW - 30 * H)),
      discovery: null,
      history: new Map([['anne', history({ lastVerified: NOW + 24 * H })]]),
      policy,
      now: NOW,
    });
    assert.equal(users[0]!.state, 'stale');
    assert.equal(users[0]!.age, 30 * H);
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

  test('in doubt until the grace ends or a chunk past the one it had before appears', () => {
    const started = NOW - 10 * 60_000;
    const doubt = history({ inDoubtUntil: NOW + H, inDoubtChunkBefore: 4, lastAttempt: { startedAt: started, outcome: 'error', error: 'timeout' } });
    const run = (chunk: number, lastBackup: number, now = NOW) =>
      classifyUsers({ backupd: view(entry('anne', lastBackup, { index: { lastBackup, newestChunkId: chunk, chunks: chunk, dataBytes: 1, mailboxes: '[]' } })), discovery: null, history: new Map([['anne', doubt]]), policy, now }).users[0]!.inDoubt;
    assert.equal(run(4, NOW - 30 * H), true);
    assert.equal(run(4, NOW + H), true, 'a date, even a later one, settles nothing: only a new chunk does');
    assert.equal(run(5, NOW - 5 * 60_000), false, 'a new chunk settles it');
    assert.equal(run(4, NOW - 30 * H, NOW + 2 * H), false, 'the grace has passed');
  });
});

describe('an attempt in doubt that the server finished counts as the success it was', () => {
  const timedOut = (failures: number, before: number) =>
    history({
      consecutiveFailures: failures,
      inDoubtUntil: NOW + H,
      inDoubtChunkBefore: before,
      lastAttempt: { startedAt: NOW - 20 * 60_000, outcome: 'error', error: 'imap1: XBACKUP timed out after 1 s' },
    });
  const classify = (past: UserHistory, chunk: number | null, lastBackup: number | null) =>
    classifyUsers({
      backupd: view(entry('d002', lastBackup, { index: { lastBackup, newestChunkId: chunk, chunks: chunk ?? 0, dataBytes: 1, mailboxes: '[]' } })),
      discovery: null,
      history: new Map([['d002', past]]),
      policy,
      now: NOW,
    }).users[0]!;

  for (const failures of [1, 3, 4, 10]) {
    test(`${failures} in a row, the last one settled by a new chunk: not failing, fresh, the attempt ok`, () => {
      const u = classify(timedOut(failures, 7), 8, NOW - 15 * 60_000);
      assert.equal(u.state, 'fresh');
      assert.equal(u.inDoubt, false);
      assert.equal(u.lastAttempt!.outcome, 'ok');
      assert.match(u.lastAttempt!.error!, /timed out after 1 s; settled: the server finished it \(chunk 8 appeared\)/);
      assert.equal(u.lastVerified, NOW - 15 * 60_000);
    });
  }

  test('a first backup in doubt (no chunk before) is settled by its first chunk', () => {
    const u = classify(timedOut(1, 0), 1, NOW - 60_000);
    assert.equal(u.state, 'fresh');
  });

  test('after a dropped connection a new chunk ends the doubt, but is no success and counts as no backup', () => {
    const dropped = history({ ...timedOut(1, 0), untrustedThrough: Number.MAX_SAFE_INTEGER, trustedBackupAt: null });
    const u = classify(dropped, 1, NOW - 60_000);
    assert.deepEqual([u.state, u.inDoubt, u.lastAttempt!.outcome], ['missing', false, 'error']);
    assert.match(u.error!, /came from an attempt that failed or lost its connection/);
  });

  test('without a new chunk it stays a failure', () => {
    const u = classify(timedOut(3, 8), 8, NOW - 2 * H);
    assert.equal(u.state, 'failing');
    assert.equal(u.inDoubt, true);
  });
});

describe('chunks a failed attempt left behind count as no backup', () => {
  const leftBy = (untrustedThrough: number, trustedBackupAt: number | null, lastVerified: number | null = null) =>
    history({
      consecutiveFailures: 1,
      untrustedThrough,
      trustedBackupAt,
      lastVerified,
      lastAttempt: { startedAt: NOW - 10 * 60_000, outcome: 'no', error: 'Bad protocol' },
    });
  const classify = (past: UserHistory, chunk: number, lastBackup: number) =>
    classifyUsers({
      backupd: view(entry('big', lastBackup, { index: { lastBackup, newestChunkId: chunk, chunks: chunk, dataBytes: 5e6, mailboxes: '[]' } })),
      discovery: fleet({ imap1: ['big'] }),
      history: new Map([['big', past]]),
      policy,
      now: NOW,
    }).users[0]!;

  test('an interrupted first backup that left a chunk: still missing, saying why', () => {
    const u = classify(leftBy(1, null), 1, NOW - 5 * 60_000);
    assert.equal(u.state, 'missing');
    assert.equal(u.age, null);
    assert.equal(u.chunks, 1, 'the chunk is shown for what it is');
    assert.match(u.error!, /chunk 1 came from an attempt that failed or lost its connection, and may hold only part of the mail: it counts as no backup until an attempt succeeds/);
  });

  test('several failed attempts that each left a chunk: still missing', () => {
    assert.equal(classify(leftBy(3, null), 3, NOW - 60_000).state, 'missing');
  });

  test('a refresh that failed after leaving a chunk: aged from the last whole backup', () => {
    const u = classify(leftBy(9, NOW - 30 * H), 9, NOW - 60_000);
    assert.equal(u.state, 'stale');
    assert.equal(u.age, 30 * H);
  });

  test('our own verified record still counts beside it', () => {
    const u = classify(leftBy(9, NOW - 30 * H, NOW - 2 * H), 9, NOW - 60_000);
    assert.equal(u.state, 'fresh');
    assert.equal(u.age, 2 * H);
  });

  test('a chunk past those (a later backup, ours or anyone\'s) counts again', () => {
    const u = classify(leftBy(3, null), 4, NOW - 60_000);
    assert.equal(u.state, 'fresh');
    assert.equal(u.error, null);
  });
});

describe('users created between discoveries', () => {
  const discovered = fleet({ imap1: ['anne'] });
  const startedAt = discovered.startedAt;
  for (const [name, lastBackup] of [['a second after the discovery began', startedAt + 1000], ['as it began', startedAt], ['long after', NOW - 1000]] as const) {
    test(`backed up ${name}: not an orphan, fresh, saying the next discovery finds its server`, () => {
      const { users } = classifyUsers({ backupd: view(entry('newbie', lastBackup)), discovery: discovered, history: null, policy, now: NOW });
      assert.equal(one(users, 'newbie').state, 'fresh');
      assert.match(one(users, 'newbie').error!, /on no IMAP server at the last discovery .* but backed up since/);
    });
  }

  test('backed up only before the discovery began: an orphan', () => {
    const { users } = classifyUsers({ backupd: view(entry('gone', startedAt - 1000)), discovery: discovered, history: null, policy, now: NOW });
    assert.equal(one(users, 'gone').state, 'orphan');
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

describe('the backup against the live mailboxes', () => {
  const AT = NOW - 10 * 60_000;
  const inbox = (over: Partial<{ uidnext: number; messages: number; highestModseq: number }> = {}) => ({ uidnext: 11, messages: 10, highestModseq: 50, ...over });
  /** anne's backup holds user.anne up to UID 10, modseq 50; the server says `live` of it at AT. */
  function classifyAnne(
    live: ReturnType<typeof inbox> | null,
    options: { lastBackup?: number; past?: Partial<UserHistory>; mailboxes?: string; error?: BackupIndexError; policy?: typeof policy } = {},
  ) {
    const backup = entry('anne', options.lastBackup ?? NOW - 30 * H, {
      ...(options.error && { index: null, error: options.error }),
    });
    if (backup.index) backup.index.mailboxes = options.mailboxes ?? JSON.stringify([['user.anne', 1700000000, 10, 50]]);
    const discovery = fleet({ imap1: ['anne'] });
    discovery.servers[0]!.users[0]!.live = live && { at: AT, mailboxes: JSON.stringify([['user.anne', 1700000000, live.uidnext, live.messages, live.highestModseq, 20_000]]) };
    const history = options.past ? new Map([['anne', userHistory(options.past)]]) : null;
    return one(classifyUsers({ backupd: view(backup), discovery, history, policy: options.policy ?? policy, now: NOW }).users, 'anne');
  }

  test('in sync: behind nothing, and the age counts from when the mailboxes were read', () => {
    const anne = classifyAnne(inbox());
    assert.deepEqual([anne.state, anne.behind, anne.comparedAt, anne.lastInSync, anne.age, anne.realAge], ['fresh', null, AT, AT, NOW - AT, 30 * H]);
  });

  test('maxAge above maxUnchangedAge (report --max-age 10d): being in sync counts until maxAge, never less', () => {
    const anne = classifyAnne(inbox(), { lastBackup: NOW - 8 * 24 * H, policy: { ...policy, maxAge: 10 * 24 * H } });
    assert.deepEqual([anne.state, anne.age, anne.realAge], ['fresh', NOW - AT, 8 * 24 * H]);
  });

  test('behind: what it lacks, and the age from the backup alone', () => {
    const anne = classifyAnne(inbox({ uidnext: 14, messages: 13, highestModseq: 53 }));
    assert.deepEqual([anne.state, anne.behind, anne.comparedAt, anne.lastInSync, anne.age], ['stale', { mailboxes: 1, messages: 3, bytes: null }, AT, null, 30 * H]);
  });

  test('behind but younger than maxAge: fresh, showing what it lacks', () => {
    const anne = classifyAnne(inbox({ uidnext: 12, messages: 11, highestModseq: 51 }), { lastBackup: NOW - H });
    assert.deepEqual([anne.state, anne.behind], ['fresh', { mailboxes: 1, messages: 1, bytes: null }]);
  });

  test('found in sync before, behind now: the earlier time still counts', () => {
    const anne = classifyAnne(inbox({ highestModseq: 51 }), { past: { lastInSync: NOW - 2 * H } });
    assert.deepEqual([anne.state, anne.lastInSync, anne.age], ['fresh', NOW - 2 * H, 2 * H]);
  });

  test('not compared: time alone, no figures', () => {
    const anne = classifyAnne(null);
    assert.deepEqual([anne.state, anne.behind, anne.comparedAt, anne.lastInSync], ['stale', null, null, null]);
  });

  test('an unreadable backup is never compared (and stays unreadable)', () => {
    const anne = classifyAnne(inbox(), { error: new BackupIndexError('/b/a/anne_X.index', 'corrupt', 'bad') });
    assert.deepEqual([anne.state, anne.comparedAt, anne.lastInSync], ['unreadable', null, null]);
  });

  test('backup rows this tool cannot read back (a damaged scan cache): not compared, never in sync', () => {
    const anne = classifyAnne(inbox(), { mailboxes: '[["user.anne", "x"]]' });
    assert.deepEqual([anne.state, anne.comparedAt, anne.lastInSync], ['stale', null, null]);
  });
});
