// The maintenance rules as a table, with an injected clock (NOW is 2026-11-23T12:00Z) and windows read in UTC.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { maintenanceQueue, type MaintenanceInput, type MaintenanceMemory, type MaintenancePolicy } from '../../../src/scheduler/maintenance/maintenance-queue.js';
import type { UserStatus } from '../../../src/staleness/classify.js';
import { parseDailyWindow } from '../../../src/units/daily-window.js';
import { userStatus } from '../../support/user-status.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const H = 3_600_000;
const D = 24 * H;

const POLICY: MaintenancePolicy = { window: null, compactChunks: 100, compactBelowUtilisation: null, verifyEvery: 30 * D };

function backup(userid: string, extra: Partial<UserStatus> = {}): UserStatus {
  return userStatus(userid, 'fresh', H, NOW, extra);
}
const verifiedAgo = (ago: number | null) => ({ lastDeepVerify: ago === null ? null : NOW - ago });

function memory(extra: Partial<MaintenanceMemory> = {}): MaintenanceMemory {
  return { deepVerify: null, utilisation: null, lastCompaction: null, attemptUnsettled: false, ...extra };
}

function input(users: UserStatus[], extra: Partial<MaintenanceInput> = {}): MaintenanceInput {
  return { now: NOW, users, memory: new Map(), policy: POLICY, rollingUsed: 0, busy: new Set(), timeZone: 'UTC', ...extra };
}

const jobs = (i: MaintenanceInput) => maintenanceQueue(i).jobs.map((j) => `${j.userid} ${j.reason}`);

interface Case {
  rule: string;
  input: MaintenanceInput;
  jobs: string[];
}

const fleet = (n: number, lastDeepVerify: (i: number) => number | null) =>
  Array.from({ length: n }, (_, i) => backup(`u${String(i).padStart(3, '0')}`, { lastDeepVerify: lastDeepVerify(i) }));

const cases: Case[] = [
  {
    rule: 'each opening takes backups × a day ÷ verifyEvery, rounded up, never-verified first: 60 backups at 30d → 2',
    input: input(fleet(60, (i) => (i < 58 ? NOW - (40 - (i % 10)) * D : null))),
    jobs: ['u058 rolling', 'u059 rolling'],
  },
  {
    rule: 'then the longest since verified',
    input: input(fleet(60, (i) => NOW - (31 + (i === 7 ? 5 : i === 3 ? 4 : 0)) * D)),
    jobs: ['u007 rolling', 'u003 rolling'],
  },
  {
    rule: 'what the opening already used is taken off its share',
    input: input(fleet(60, () => null), { rollingUsed: 1 }),
    jobs: ['u000 rolling'],
  },
  {
    rule: 'a backup verified within verifyEvery less a day is not due, whatever the share',
    input: input([backup('anne', verifiedAgo(28 * D)), backup('bob', verifiedAgo(29 * D + H))]),
    jobs: ['bob rolling'],
  },
  {
    rule: 'users without a backup, and unreadable ones, are not verified',
    input: input([userStatus('nobody', 'missing', null, NOW), userStatus('broken', 'unreadable', H, NOW), backup('anne')]),
    jobs: ['anne rolling'],
  },
  {
    rule: 'past compactChunks a backup is compacted, most chunks first, before any rolling verification',
    input: input([backup('anne', { chunks: 101, ...verifiedAgo(H) }), backup('bob', { chunks: 400, ...verifiedAgo(H) }), backup('carl', { chunks: 100, ...verifiedAgo(H) }), backup('dora')]),
    jobs: ['bob compact', 'anne compact', 'dora rolling'],
  },
  {
    rule: 'a compaction ctl_backups skipped is not tried again until compactChunks more chunks came',
    input: input([backup('anne', { chunks: 150, ...verifiedAgo(H) }), backup('bob', { chunks: 250, ...verifiedAgo(H) })], {
      memory: new Map([
        ['anne', memory({ lastCompaction: { at: NOW - 2 * D, chunks: 140, outcome: 'skipped' } })],
        ['bob', memory({ lastCompaction: { at: NOW - 2 * D, chunks: 140, outcome: 'skipped' } })],
      ]),
    }),
    jobs: ['bob compact'],
  },
  {
    rule: 'one compaction per user per opening',
    input: input([backup('anne', { chunks: 150, ...verifiedAgo(H) })], { memory: new Map([['anne', memory({ lastCompaction: { at: NOW - H, chunks: 300, outcome: 'ok' } })]]) }),
    jobs: [],
  },
  {
    rule: 'below compactBelowUtilisation, when stat said so, a backup is compacted',
    input: input([backup('anne', verifiedAgo(H)), backup('bob', verifiedAgo(H))], {
      policy: { ...POLICY, compactBelowUtilisation: 50 },
      memory: new Map([
        ['anne', memory({ utilisation: 31 })],
        ['bob', memory({ utilisation: 80 })],
      ]),
    }),
    jobs: ['anne compact'],
  },
  {
    rule: 'never compacted: a damaged backup, nor one whose XBACKUP attempt is unsettled (compaction renumbers chunks)',
    input: input(
      [
        userStatus('anne', 'damaged', H, NOW, { chunks: 500, ...verifiedAgo(H) }),
        backup('bob', { chunks: 500, ...verifiedAgo(H) }),
      ],
      {
        memory: new Map([
          ['anne', memory({ deepVerify: { at: NOW - H, damage: 'bad', subject: { dataFile: '/b/a/anne_X', chunks: 500, dataBytes: 2048 } } })],
          ['bob', memory({ attemptUnsettled: true })],
        ]),
      },
    ),
    jobs: [],
  },
  {
    rule: 'a damaged backup that changed since is verified again first, outside the share; once per opening',
    input: input([userStatus('anne', 'damaged', H, NOW, { chunks: 4, lastDeepVerify: NOW - 2 * D }), backup('bob', verifiedAgo(H)), userStatus('carl', 'damaged', H, NOW, { chunks: 9, lastDeepVerify: NOW - H })], {
      memory: new Map([
        ['anne', memory({ deepVerify: { at: NOW - 2 * D, damage: 'bad', subject: { dataFile: '/b/a/anne_X', chunks: 3, dataBytes: 2048 } } })],
        ['carl', memory({ deepVerify: { at: NOW - H, damage: 'bad', subject: { dataFile: '/b/c/carl_X', chunks: 3, dataBytes: 2048 } } })],
      ]),
    }),
    jobs: ['anne recheck'],
  },
  {
    rule: 'a damaged backup made again at the same path (smaller) is verified again at once, even twice in an opening',
    input: input([userStatus('anne', 'damaged', H, NOW, { chunks: 1, dataBytes: 900, lastDeepVerify: NOW - H })], {
      memory: new Map([['anne', memory({ deepVerify: { at: NOW - H, damage: 'bad', subject: { dataFile: '/b/a/anne_X', chunks: 3, dataBytes: 2048 } } })]]),
    }),
    jobs: ['anne recheck'],
  },
  {
    rule: 'a damaged backup unchanged since is not verified again before its turn',
    input: input([userStatus('anne', 'damaged', H, NOW, { lastDeepVerify: NOW - 2 * D })], {
      memory: new Map([['anne', memory({ deepVerify: { at: NOW - 2 * D, damage: 'bad', subject: { dataFile: '/b/a/anne_X', chunks: 3, dataBytes: 2048 } } })]]),
    }),
    jobs: [],
  },
  {
    rule: 'a new data file since the old one was found damaged is verified at once',
    input: input([backup('anne', { dataFile: '/b/a/anne_NEW' })], {
      memory: new Map([['anne', memory({ deepVerify: { at: NOW - H, damage: 'bad', subject: { dataFile: '/b/a/anne_X', chunks: 3, dataBytes: 2048 } } })]]),
    }),
    jobs: ['anne recheck'],
  },
  {
    rule: 'busy users (an XBACKUP in flight, a run under way) are left for later',
    input: input([backup('anne', { chunks: 500, ...verifiedAgo(H) }), backup('bob')], { busy: new Set(['anne', 'bob']) }),
    jobs: [],
  },
];

describe('maintenance queue', () => {
  for (const c of cases) test(c.rule, () => assert.deepEqual(jobs(c.input), c.jobs));

  test('the window: closed, nothing may start and it says when it opens; open, the share counts from the opening', () => {
    const closed = maintenanceQueue(input([backup('anne')], { policy: { ...POLICY, window: parseDailyWindow('01:00-05:00') } }));
    assert.equal(closed.open, false);
    assert.equal(closed.window.opensAt, Date.parse('2026-11-24T01:00:00Z'));
    const open = maintenanceQueue(input([backup('anne')], { policy: { ...POLICY, window: parseDailyWindow('11:00-13:00') } }));
    assert.equal(open.open, true);
    assert.equal(open.window.openedAt, Date.parse('2026-11-23T11:00:00Z'));
  });

  test('spread: 30,000 backups never verified take 30 days at 1,000 a day, and then each comes round within verifyEvery', () => {
    const N = 30_000;
    const verified = new Array<number | null>(N).fill(null);
    const users = Array.from({ length: N }, (_, i) => backup(`u${i}`));
    let longest = 0;
    for (let day = 0; day < 75; day++) {
      const now = NOW + day * D;
      for (let i = 0; i < N; i++) users[i]!.lastDeepVerify = verified[i]!;
      const q = maintenanceQueue(input(users, { now }));
      if (day < 30) assert.equal(q.jobs.length, 1000, `day ${day}`);
      for (const job of q.jobs) {
        const i = Number(job.userid.slice(1));
        if (verified[i] !== null) longest = Math.max(longest, now - verified[i]!);
        verified[i] = now;
      }
    }
    assert.ok(verified.every((v) => v !== null));
    assert.ok(longest <= 30 * D, `longest gap ${longest / D} days`);
    assert.ok(longest >= 29 * D, `longest gap ${longest / D} days: verified more often than needed`);
  });

  test('compaction keeps what the user is judged by: the realBackupAt it carries', () => {
    const [job] = maintenanceQueue(input([backup('anne', { chunks: 200, realAge: 5 * H, ...verifiedAgo(H) })])).jobs;
    assert.equal(job!.realBackupAt, NOW - 5 * H);
    assert.deepEqual(job!.subject, { dataFile: '/b/a/anne_X', chunks: 200, dataBytes: 2048 });
  });
});
