import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackupIndexSummary } from '../../src/backupd/backup-summary.js';
import { backupEvidence } from '../../src/staleness/backup-evidence.js';
import type { UserHistory } from '../../src/staleness/user-history.js';
import { userHistory } from '../support/user-history.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const H = 3_600_000;
const D = 24 * H;
const WEEK = 7 * D;

const index = (lastBackup: number | null): BackupIndexSummary => ({ lastBackup, newestChunkId: lastBackup === null ? null : 7, chunks: lastBackup === null ? 0 : 7, dataBytes: 900, mailboxes: '[]' });
const history = userHistory;

test('backupEvidence: when being in sync with the live mailboxes counts as a backup, as a table', () => {
  const cases: Array<[string, BackupIndexSummary | null, UserHistory | undefined, number | null, { backedUpAt: number | null; realBackupAt: number | null; note: RegExp | null }]> = [
    ['no comparison: the newest chunk', index(NOW - 30 * H), undefined, null, { backedUpAt: NOW - 30 * H, realBackupAt: NOW - 30 * H, note: null }],
    ['in sync after the last backup: counts from then', index(NOW - 30 * H), undefined, NOW - H, { backedUpAt: NOW - H, realBackupAt: NOW - 30 * H, note: null }],
    ['in sync before the last backup: the backup is newer', index(NOW - H), undefined, NOW - 30 * H, { backedUpAt: NOW - H, realBackupAt: NOW - H, note: null }],
    ['in sync, but the last real backup is maxUnchangedAge old: no longer counts, and says why', index(NOW - WEEK), undefined, NOW - H, { backedUpAt: NOW - WEEK, realBackupAt: NOW - WEEK, note: /in sync with its mailboxes at .* but last backed up 7d ago \(policy\.maxUnchangedAge 7d\)/ }],
    ['in sync, one millisecond before maxUnchangedAge: counts', index(NOW - WEEK + 1), undefined, NOW - H, { backedUpAt: NOW - H, realBackupAt: NOW - WEEK + 1, note: null }],
    ['in sync after our verified backup (compact moved ts_end back)', index(NOW - 40 * H), history({ lastVerified: NOW - 30 * H }), NOW - 2 * H, { backedUpAt: NOW - 2 * H, realBackupAt: NOW - 30 * H, note: null }],
    ['no backup at all: being in sync with nothing is not a backup', index(null), undefined, NOW - H, { backedUpAt: null, realBackupAt: null, note: null }],
    ['a time in sync in the future is not believed', index(NOW - 30 * H), undefined, NOW + H, { backedUpAt: NOW - 30 * H, realBackupAt: NOW - 30 * H, note: null }],
    [
      'a backup whose newest chunk a failed attempt left counts from the last whole one, and in sync after it',
      index(NOW - H),
      history({ untrustedThrough: 7, trustedBackupAt: NOW - 50 * H }),
      NOW - 2 * H,
      { backedUpAt: NOW - 2 * H, realBackupAt: NOW - 50 * H, note: /chunk 7 came from an attempt that failed.*; since found in sync with its mailboxes \(2026-12-07T10:00:00/ },
    ],
  ];
  for (const [what, idx, past, lastInSync, expected] of cases) {
    const evidence = backupEvidence(idx, past, NOW, { lastInSync, maxUnchangedAge: WEEK });
    assert.equal(evidence.backedUpAt, expected.backedUpAt, `${what}: backedUpAt`);
    assert.equal(evidence.realBackupAt, expected.realBackupAt, `${what}: realBackupAt`);
    if (expected.note) assert.match(evidence.note ?? '', expected.note, what);
    else assert.equal(evidence.note, null, what);
  }
});
