// What one finished XBACKUP attempt does to what the scheduler remembers: the retry and backoff rules
// for a user, and the circuit breaker for a server. Pure functions of the memory before, the attempt,
// the policy, the clock and a random source; the stores in ../state only persist what these return.
import { UNTIL_A_SUCCESS } from '../../staleness/backup-evidence.js';
import type { AttemptOutcome } from '../../staleness/user-history.js';
import type { XbackupFailureKind } from '../../imap/xbackup-failure.js';
import type { ChunkMark } from '../backup-result.js';

export interface RetryPolicy {
  baseDelay: number;
  maxDelay: number;
  inDoubtGrace: number;
}

/** How one finished attempt changes what we remember of its user. */
export interface AttemptSettlement {
  userid: string;
  attemptId: number;
  outcome: Exclude<AttemptOutcome, 'interrupted' | 'in-sync'>;
  locked: boolean;
  inDoubt: boolean;
  /** In doubt after a dropped connection: what the index shows next may be a part. */
  connectionDropped: boolean;
  /** For a verified backup: the end of the chunk it produced (ms). */
  verifiedBackupAt: number | null;
  /** The index before and after the command, when it reached the server. */
  chunks: { before: ChunkMark; after: ChunkMark | null } | null;
}

/** What an attempt's settlement carries over from the user's memory. */
export interface UserMemoryBefore {
  consecutiveFailures: number;
  untrustedThrough: number | null;
  trustedBackupAt: number | null;
  /** The newest verified backup's time (ms); null while there is none (never 0: that reads as 1970). */
  lastVerified: number | null;
}

export interface UserMemoryAfter extends UserMemoryBefore {
  /** Backoff: no new attempt before this time (ms). */
  nextAttemptAt: number | null;
  inDoubtUntil: number | null;
  inDoubtChunkBefore: number | null;
}

export interface ServerHealth {
  /** No command before this time (ms): the backoff before the next probe. Past it, the breaker may still be open. */
  pausedUntil: number | null;
  consecutiveFailures: number;
  droppedInARow: number;
  lastError: string | null;
  /** What opened the breaker: a failed discovery, which an answer to the next one closes, or an XBACKUP, which only an XBACKUP that succeeds closes. */
  trippedBy: 'discovery' | 'xbackup' | null;
}

/**
 * Paused: the breaker opened and no probe has succeeded since. Its backoff ending (pausedUntil) only lets
 * the next probe go; a probe that fails opens it again, so the server never reads as back in between.
 */
export function breakerOpen(health: ServerHealth | undefined): boolean {
  return health !== undefined && health.consecutiveFailures > 0;
}

/** How far a delay may stray from its nominal value, either way: spreads retries of users that failed together. */
const JITTER_FRACTION = 0.2;

/**
 * How long to wait before retrying after `failures` failed attempts in a row (spec §4):
 * `base × 2^(failures − 1)`, capped at `max`, then jittered by ±20% and never above `max`.
 * `random` returns a number in [0, 1), like Math.random; injected so the result is reproducible.
 * No failures, no wait.
 */
export function retryDelay(failures: number, base: number, max: number, random: () => number): number {
  if (failures < 1) return 0;
  // 2 ** 1100 is Infinity, which Math.min turns into the cap: no overflow to guard against.
  const nominal = Math.min(max, base * 2 ** (failures - 1));
  const jitter = 1 + JITTER_FRACTION * (2 * random() - 1);
  return Math.round(Math.min(max, nominal * jitter));
}

/**
 * A verified backup clears failures, backoff, doubt and distrust, and its time is kept unless an older
 * attempt's is later (a user never verified keeps null, whatever fails). `Mailbox is locked` waits one base
 * delay without counting as a failure. Anything else counts, with exponential backoff. After a timeout
 * the server goes on: the user is in doubt for `inDoubtGrace`, or until a chunk past the one it had
 * settles it. Otherwise a chunk the failed attempt left is a part at most and not trusted; after a
 * dropped connection (the server itself may have died, and backupd then commits what it had) no chunk
 * is, until an attempt succeeds.
 */
export function nextUserMemory(
  before: UserMemoryBefore | undefined,
  s: AttemptSettlement,
  policy: RetryPolicy,
  now: number,
  random: () => number,
): UserMemoryAfter {
  let failures = before?.consecutiveFailures ?? 0;
  let nextAttemptAt: number | null = null;
  let inDoubtUntil: number | null = null;
  let inDoubtChunkBefore: number | null = null;
  let untrustedThrough = before?.untrustedThrough ?? null;
  let trustedBackupAt = before?.trustedBackupAt ?? null;
  const distrust = (through: number, from: ChunkMark) => {
    // The last whole backup is the one before the first of these failed attempts.
    if (untrustedThrough === null || from.chunkId > untrustedThrough) trustedBackupAt = from.chunkId === 0 ? null : from.lastBackup;
    untrustedThrough = Math.max(untrustedThrough ?? 0, through);
  };
  if (s.outcome === 'ok') {
    failures = 0;
    untrustedThrough = null;
    trustedBackupAt = null;
  } else if (s.locked) {
    nextAttemptAt = now + policy.baseDelay;
  } else {
    failures += 1;
    nextAttemptAt = now + retryDelay(failures, policy.baseDelay, policy.maxDelay, random);
    const chunks = s.chunks;
    if (s.inDoubt) {
      inDoubtUntil = now + policy.inDoubtGrace;
      inDoubtChunkBefore = chunks?.before.chunkId ?? null;
      if (chunks && s.connectionDropped) distrust(UNTIL_A_SUCCESS, chunks.before);
    } else if (chunks?.after && chunks.after.chunkId > chunks.before.chunkId) {
      distrust(chunks.after.chunkId, chunks.before);
    }
  }
  return {
    consecutiveFailures: failures,
    lastVerified: newest(before?.lastVerified ?? null, s.outcome === 'ok' ? s.verifiedBackupAt : null),
    nextAttemptAt,
    inDoubtUntil,
    inDoubtChunkBefore,
    untrustedThrough,
    trustedBackupAt,
  };
}

/** The later of two times, either of which may be missing: null only when both are. */
const newest = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

/** Which whole-command failures pause the server: they would fail every other user of it the same way. */
const BREAKER_KINDS: ReadonlySet<XbackupFailureKind> = new Set(['backupd-unreachable', 'connection-dropped', 'disabled', 'removed', 'not-admin', 'response-limit']);

export function tripsBreaker(kind: XbackupFailureKind): boolean {
  return BREAKER_KINDS.has(kind);
}

/** The breaker opened once more: paused with the same backoff as a user's retries, counted from its failures in a row. */
export function nextServerHealth(
  before: ServerHealth | undefined,
  error: string,
  dropped: boolean,
  trippedBy: 'discovery' | 'xbackup',
  policy: Pick<RetryPolicy, 'baseDelay' | 'maxDelay'>,
  now: number,
  random: () => number,
): ServerHealth {
  const failures = (before?.consecutiveFailures ?? 0) + 1;
  return {
    pausedUntil: now + retryDelay(failures, policy.baseDelay, policy.maxDelay, random),
    consecutiveFailures: failures,
    droppedInARow: dropped ? (before?.droppedInARow ?? 0) + 1 : 0,
    lastError: error,
    trippedBy,
  };
}

/** A command reached the server and backupd: the breaker closes. */
export const HEALTHY: ServerHealth = { pausedUntil: null, consecutiveFailures: 0, droppedInARow: 0, lastError: null, trippedBy: null };
