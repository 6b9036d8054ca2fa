import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { XbackupFailureKind } from '../../../src/imap/xbackup-failure.js';
import type { ChunkMark } from '../../../src/scheduler/backup-result.js';
import {
  HEALTHY,
  nextServerHealth,
  nextUserMemory,
  retryDelay,
  tripsBreaker,
  type AttemptSettlement,
  type UserMemoryBefore,
} from '../../../src/scheduler/plan/settle-attempt.js';
import { UNTIL_A_SUCCESS } from '../../../src/staleness/backup-evidence.js';

const MIN = 60_000;
const BASE = 5 * MIN;
const MAX = 6 * 60 * MIN;
const middle = () => 0.5;

test('exponential: base × 2^(n−1), without jitter in the middle of the range', () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => retryDelay(n, BASE, MAX, middle)),
    [5, 10, 20, 40].map((m) => m * MIN),
  );
});

test('capped at maxDelay, even after very many failures', () => {
  assert.equal(retryDelay(8, BASE, MAX, middle), MAX);
  assert.equal(retryDelay(5000, BASE, MAX, middle), MAX);
});

test('no failures, no wait', () => {
  assert.equal(retryDelay(0, BASE, MAX, middle), 0);
});

test('jitter stays within ±20% and never goes above maxDelay', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, r) => {
      const nominal = Math.min(MAX, BASE * 2 ** (failures - 1));
      const delay = retryDelay(failures, BASE, MAX, () => r);
      assert.ok(delay >= Math.floor(nominal * 0.8) && delay <= Math.ceil(nominal * 1.2), `${delay} near ${nominal}`);
      assert.ok(delay <= MAX, `${delay} ≤ ${MAX}`);
    }),
  );
});

test('jitter spreads retries: the extremes of the random source give −20% and +20%', () => {
  assert.equal(retryDelay(1, BASE, MAX, () => 0), 4 * MIN);
  assert.equal(retryDelay(1, BASE, MAX, () => 0.999999), Math.round(BASE * (1 + 0.2 * (2 * 0.999999 - 1))));
});

// ---------------------------------------------------------------------------------------------------
// What one attempt makes of a user's memory, and of a server's breaker.

const NOW = 1_000_000_000;
const POLICY = { baseDelay: BASE, maxDelay: MAX, inDoubtGrace: 30 * MIN };
const mark = (chunkId: number, lastBackup: number | null = chunkId === 0 ? null : chunkId * 1000): ChunkMark => ({ chunkId, lastBackup, dataBytes: null });
const settlement = (over: Partial<AttemptSettlement>): AttemptSettlement => ({
  userid: 'anne',
  attemptId: 1,
  outcome: 'no',
  locked: false,
  inDoubt: false,
  connectionDropped: false,
  verifiedBackupAt: null,
  chunks: { before: mark(3), after: mark(3) },
  ...over,
});
const clean: UserMemoryBefore = { consecutiveFailures: 0, untrustedThrough: null, trustedBackupAt: null, lastVerified: null };

test('nextUserMemory: each kind of attempt, as a table', () => {
  const twoFailed: UserMemoryBefore = { consecutiveFailures: 2, untrustedThrough: 5, trustedBackupAt: 3000, lastVerified: null };
  const cases: Array<[string, UserMemoryBefore | undefined, Partial<AttemptSettlement>, Partial<ReturnType<typeof nextUserMemory>>]> = [
    ['ok clears failures, backoff and distrust; keeps the verified time', twoFailed, { outcome: 'ok', verifiedBackupAt: 9000, chunks: { before: mark(5), after: mark(6) } },
      { consecutiveFailures: 0, nextAttemptAt: null, untrustedThrough: null, trustedBackupAt: null, lastVerified: 9000, inDoubtUntil: null }],
    ['locked waits one base delay and does not count', twoFailed, { locked: true },
      { consecutiveFailures: 2, nextAttemptAt: NOW + BASE, untrustedThrough: 5, trustedBackupAt: 3000, lastVerified: null }],
    ['a first failure counts, with the base delay, and leaves no distrust without a new chunk', undefined, {},
      { consecutiveFailures: 1, nextAttemptAt: NOW + BASE, untrustedThrough: null, trustedBackupAt: null }],
    ['a third failure doubles twice', twoFailed, { chunks: { before: mark(5), after: mark(5) } },
      { consecutiveFailures: 3, nextAttemptAt: NOW + 4 * BASE, untrustedThrough: 5, trustedBackupAt: 3000 }],
    ['a failure that left a chunk: that chunk is not trusted; the whole backup is the one before', clean, { chunks: { before: mark(3), after: mark(4) } },
      { consecutiveFailures: 1, untrustedThrough: 4, trustedBackupAt: 3000 }],
    ['a failed first backup that left a chunk: no whole backup at all', clean, { chunks: { before: mark(0), after: mark(1) } },
      { untrustedThrough: 1, trustedBackupAt: null }],
    ['a timeout: in doubt for the grace, from the chunk it had; nothing distrusted yet', clean, { inDoubt: true, chunks: { before: mark(3), after: null } },
      { consecutiveFailures: 1, inDoubtUntil: NOW + POLICY.inDoubtGrace, inDoubtChunkBefore: 3, untrustedThrough: null }],
    ['a dropped connection: in doubt, and no chunk trusted until a success', clean, { inDoubt: true, connectionDropped: true, chunks: { before: mark(3), after: null } },
      { inDoubtUntil: NOW + POLICY.inDoubtGrace, inDoubtChunkBefore: 3, untrustedThrough: UNTIL_A_SUCCESS, trustedBackupAt: 3000 }],
    ['a later failure keeps the earlier, older whole backup', { ...clean, consecutiveFailures: 1, untrustedThrough: 4, trustedBackupAt: 3000 }, { chunks: { before: mark(4), after: mark(5) } },
      { consecutiveFailures: 2, untrustedThrough: 5, trustedBackupAt: 3000 }],
    ['a command that never reached the server: counts, distrusts nothing', clean, { chunks: null },
      { consecutiveFailures: 1, untrustedThrough: null, inDoubtChunkBefore: null }],
  ];
  for (const [what, before, over, expected] of cases) {
    const after = nextUserMemory(before, settlement(over), POLICY, NOW, middle);
    for (const [key, value] of Object.entries(expected)) {
      assert.equal(after[key as keyof typeof after], value, `${what}: ${key} of ${JSON.stringify(after)}`);
    }
  }
});

test('nextUserMemory: lastVerified is the newest verified backup, null while there is none (never 0, which reads as 1970)', () => {
  const verifiedAt = (t: number | null) => ({ ...clean, lastVerified: t });
  const cases: Array<[string, UserMemoryBefore | undefined, Partial<AttemptSettlement>, number | null]> = [
    ['a new user whose attempt failed', undefined, {}, null],
    ['never verified (backed up outside the scheduler), failed again', verifiedAt(null), { outcome: 'error', chunks: { before: mark(4), after: mark(4) } }, null],
    ['never verified, locked', verifiedAt(null), { locked: true }, null],
    ['never verified, unverified OK', verifiedAt(null), { outcome: 'unverified' }, null],
    ['verified before, failed now', verifiedAt(5000), {}, 5000],
    ['verified before, verified again later', verifiedAt(5000), { outcome: 'ok', verifiedBackupAt: 9000 }, 9000],
    ['verified before, verified now at an earlier time (an attempt settled in doubt meanwhile)', verifiedAt(9000), { outcome: 'ok', verifiedBackupAt: 5000 }, 9000],
    ['first verified backup', verifiedAt(null), { outcome: 'ok', verifiedBackupAt: 9000 }, 9000],
  ];
  for (const [what, before, over, expected] of cases) assert.equal(nextUserMemory(before, settlement(over), POLICY, NOW, middle).lastVerified, expected, what);
});

test('tripsBreaker: the failures that would fail every user of the server pause it; one user\'s or a slow answer do not', () => {
  const trips: Record<XbackupFailureKind, boolean> = {
    'backupd-unreachable': true,
    'connection-dropped': true,
    disabled: true,
    removed: true,
    'not-admin': true,
    'response-limit': true,
    'no-such-mailbox': false,
    locked: false,
    'bad-arguments': false,
    timeout: false,
    failed: false,
  };
  for (const [kind, expected] of Object.entries(trips)) assert.equal(tripsBreaker(kind as XbackupFailureKind), expected, kind);
});

test('nextServerHealth: paused with the retry backoff by its failures in a row; dropped connections counted in a row', () => {
  const first = nextServerHealth(undefined, 'down', false, 'xbackup', POLICY, NOW, middle);
  assert.deepEqual(first, { pausedUntil: NOW + BASE, consecutiveFailures: 1, droppedInARow: 0, lastError: 'down', trippedBy: 'xbackup' });
  const second = nextServerHealth(first, 'dropped', true, 'xbackup', POLICY, NOW, middle);
  assert.deepEqual(second, { pausedUntil: NOW + 2 * BASE, consecutiveFailures: 2, droppedInARow: 1, lastError: 'dropped', trippedBy: 'xbackup' });
  const third = nextServerHealth(second, 'dropped', true, 'xbackup', POLICY, NOW, middle);
  assert.equal(third.droppedInARow, 2);
  assert.equal(nextServerHealth(third, 'refused', false, 'xbackup', POLICY, NOW, middle).droppedInARow, 0, 'another kind of failure ends the run of drops');
  assert.equal(nextServerHealth({ ...HEALTHY, consecutiveFailures: 50 }, 'x', false, 'xbackup', POLICY, NOW, middle).pausedUntil, NOW + MAX, 'capped at maxDelay');
});
