// Cyrus's deep verification (`ctl_backups verify`) and the damaged state in every report format: the
// per-user last deep verification, the fleet's figures, and damaged users as a problem of their own.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { writeReportCsv } from '../../src/cli/output/report-csv.js';
import { reportToJson } from '../../src/cli/output/report-json.js';
import { writeReportNagios } from '../../src/cli/output/report-nagios.js';
import { writeReportPrometheus } from '../../src/cli/output/report-prometheus.js';
import { writeReportTable } from '../../src/cli/output/report-table.js';
import type { UserStatus } from '../../src/staleness/classify.js';
import { damagedText } from '../../src/staleness/damaged-text.js';
import { buildReport } from '../../src/staleness/report.js';
import { userStatus } from '../support/user-status.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const H = 3_600_000;
const D = 24 * H;
const MAX_AGE = 24 * H;
/** maintenance.verifyEvery's default. */
const VERIFY_EVERY = 30 * 24 * H;
const AGES = { warnAge: MAX_AGE, critAge: 2 * MAX_AGE };

const user = (userid: string, state: UserStatus['state'], age: number | null, extra: Partial<UserStatus> = {}): UserStatus => userStatus(userid, state, age, NOW, extra);
const damaged = (userid: string, at: number, damage: string) =>
  user(userid, 'damaged', 2 * H, { lastDeepVerify: at, error: damagedText(userid, { at, damage, subject: null }) });

/** anne verified 2d ago, bob 40d ago, carol damaged (verified 1d ago), dave never verified, erin without a backup. */
const verifiedFleet = [
  user('anne', 'fresh', H, { lastDeepVerify: NOW - 2 * D }),
  user('bob', 'fresh', 3 * H, { lastDeepVerify: NOW - 40 * D }),
  damaged('carol', NOW - D, 'chunk 7: checksum mismatch'),
  user('dave', 'fresh', 4 * H),
  user('erin', 'missing', null),
];
const report = buildReport({ coverage: 'complete', users: verifiedFleet }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });
const unmaintained = buildReport({ coverage: 'complete', users: [user('anne', 'fresh', H), user('erin', 'missing', null)] }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });

describe('table', () => {
  const text = writeReportTable(report);
  const lines = text.split('\n');
  const cell = (userid: string) => {
    const column = lines[0]!.indexOf('DEEP VERIFY');
    return lines.find((l) => l.startsWith(`${userid} `))!.slice(column).split(/\s{2,}/)[0];
  };

  test('DEEP VERIFY: how long ago, `never` for a backup never verified, `-` without a backup', () => {
    assert.equal(cell('anne'), '2d ago');
    assert.equal(cell('bob'), '40d ago');
    assert.equal(cell('carol'), '1d ago');
    assert.equal(cell('dave'), 'never');
    assert.equal(cell('erin'), '-');
  });

  test('a damaged user shows its state and what Cyrus found, as other problem states do', () => {
    assert.match(text, /^carol\s+damaged\s+imap1\s.*ctl_backups verify at 2026-11-22T12:00:00\.000Z found: chunk 7: checksum mismatch\. Start a fresh backup/m);
  });

  test('the summary says how many backups were deep-verified recently and how many are damaged', () => {
    assert.match(text, /^5 users: 3 fresh, 0 stale, 1 missing, 0 failing, 0 unreadable, 0 orphan, 0 conflict \(max age 1d; oldest 4h \(dave\)\); no user compared with its mailboxes \(ages only\); deep-verified within 30d: 2 of 4 backups; 1 damaged$/m);
    const weekly = buildReport({ coverage: 'complete', users: verifiedFleet }, { now: NOW, maxAge: MAX_AGE, verifyEvery: 7 * D });
    assert.match(writeReportTable(weekly), /; deep-verified within 7d: 2 of 4 backups; 1 damaged$/m);
  });

  test('without maintenance (nothing ever deep-verified, nothing damaged) the summary says nothing of it', () => {
    const summary = writeReportTable(unmaintained).split('\n').find((l) => l.startsWith('2 users:'))!;
    assert.doesNotMatch(summary, /deep|damaged/);
  });
});

describe('JSON', () => {
  const json = JSON.parse(JSON.stringify(reportToJson(report)));
  test('per user: lastDeepVerify as ISO-8601, null when never', () => {
    const of = (userid: string) => json.users.find((u: { userid: string }) => u.userid === userid).lastDeepVerify;
    assert.equal(of('anne'), '2026-11-21T12:00:00.000Z');
    assert.equal(of('dave'), null);
    assert.equal(of('erin'), null);
  });
  test('the fleet: backups, recent (within recentWithinSeconds), never, the oldest verification', () => {
    assert.deepEqual(json.deepVerify, { backups: 4, recent: 2, recentWithinSeconds: 30 * 86400, never: 1, oldest: '2026-10-14T12:00:00.000Z' });
    assert.equal(json.counts.damaged, 1);
    assert.match(json.users.find((u: { userid: string }) => u.userid === 'carol').error, /found: chunk 7: checksum mismatch/);
  });
});

test('CSV: lastDeepVerify, the last column (the others keep their places)', () => {
  const rows = writeReportCsv(report).split('\r\n');
  const header = rows[0]!.split(',');
  assert.equal(header.at(-1), 'lastDeepVerify');
  assert.equal(header.indexOf('error'), 16);
  const last = (userid: string) => rows.find((r) => r.startsWith(`${userid},`))!.split(',').at(-1);
  assert.equal(last('anne'), '2026-11-21T12:00:00.000Z');
  assert.equal(last('dave'), '');
});

describe('Prometheus', () => {
  test('damaged users, and the deep verification gauges', async () => {
    const text = await writeReportPrometheus(report);
    assert.match(text, /^xbackup_users\{state="damaged"\} 1$/m);
    assert.match(text, /^xbackup_backups 4$/m);
    assert.match(text, new RegExp(`^xbackup_oldest_deep_verify_age_seconds ${40 * 86400}$`, 'm'));
    assert.match(text, /^xbackup_backups_never_deep_verified 1$/m);
    assert.match(text, /^xbackup_backups_deep_verified_recently 2$/m);
    assert.match(text, new RegExp(`^xbackup_deep_verify_every_seconds ${30 * 86400}$`, 'm'));
  });
  test('nothing ever deep-verified: the oldest age is 0, as the oldest backup age is without a backup; every backup counts as never', async () => {
    const text = await writeReportPrometheus(unmaintained);
    assert.match(text, /^xbackup_oldest_deep_verify_age_seconds 0$/m);
    assert.match(text, /^xbackup_backups_never_deep_verified 1$/m);
    assert.match(text, /^xbackup_backups_deep_verified_recently 0$/m);
    assert.match(text, /^xbackup_users\{state="damaged"\} 0$/m);
  });
});

describe('Nagios', () => {
  test('a damaged user is CRITICAL, named first with what Cyrus found, however young its backup', () => {
    const n = writeReportNagios(report, AGES);
    assert.equal(n.exitCode, 2);
    assert.match(n.text, /^XBACKUP CRITICAL - 1 damaged: carol \(ctl_backups verify at 2026-11-22T12:00:00\.000Z found: chunk 7: checksum mismatch\), 1 never backed up; oldest 4h \(dave\) \| /);
    assert.match(n.text, / conflict=0 damaged=1 oldest_age=/);
  });
  test('before the other problems; at most three named, the rest counted', () => {
    const users = [
      user('old', 'stale', 3 * D),
      user('fails', 'failing', H, { error: '3 failed attempts in a row' }),
      ...['d1', 'd2', 'd3', 'd4', 'd5'].map((u) => damaged(u, NOW - H, `bad chunk in ${u}`)),
    ];
    const n = writeReportNagios(buildReport({ coverage: 'complete', users }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY }), AGES);
    assert.equal(n.exitCode, 2);
    assert.match(n.text, /^XBACKUP CRITICAL - 5 damaged: d1 \(ctl_backups verify at [^)]+ found: bad chunk in d1\), d2 \([^)]+\), d3 \([^)]+\) and 2 more, 1 backup older than 2d, 1 failing;/);
  });
  test('--user: only the damaged users it covers count', () => {
    const covered = buildReport({ coverage: 'complete', users: [user('anne', 'fresh', H)] }, { now: NOW, maxAge: MAX_AGE, verifyEvery: VERIFY_EVERY });
    const n = writeReportNagios(covered, { ...AGES, scope: { patterns: ['anne'], fleetUsers: 5 } });
    assert.equal(n.exitCode, 0);
  });
});
