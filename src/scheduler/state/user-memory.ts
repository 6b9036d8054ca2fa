import { isSettledBy, settledNote, UNTIL_A_SUCCESS } from '../../staleness/backup-evidence.js';
import type { AttemptOutcome, BackupSubject, DeepVerify, UserHistory } from '../../staleness/user-history.js';
import type { ChunkMark } from '../backup-result.js';
import { nextUserMemory, type AttemptSettlement, type RetryPolicy } from '../plan/settle-attempt.js';

export type { AttemptSettlement, RetryPolicy };
import type { StateDb } from './open-state-db.js';
import { stateRead, stateWrite } from './state-write-error.js';

export interface RememberedUser extends UserHistory {
  /** Backoff: no new attempt before this time (ms). */
  nextAttemptAt: number | null;
}

interface Row {
  userid: string;
  last_verified: number | null;
  consecutive_failures: number;
  next_attempt_at: number | null;
  in_doubt_until: number | null;
  in_doubt_chunk_before: number | null;
  untrusted_through: number | null;
  trusted_backup_at: number | null;
  last_in_sync: number | null;
  deep_verify_at: number | null;
  deep_verify_damage: string | null;
  deep_verify_subject: string | null;
  last_attempt_id: number | null;
  started_at: number | null;
  outcome: AttemptOutcome | null;
  error: string | null;
}

const SELECT = `SELECT m.userid, m.last_verified, m.consecutive_failures, m.next_attempt_at, m.in_doubt_until, m.in_doubt_chunk_before,
                       m.untrusted_through, m.trusted_backup_at, m.last_in_sync,
                       m.deep_verify_at, m.deep_verify_damage, m.deep_verify_subject, m.last_attempt_id, a.started_at, a.outcome, a.error
                  FROM user_memory m LEFT JOIN attempt a ON a.id = m.last_attempt_id`;


const toRemembered = (r: Row): RememberedUser => ({
  lastVerified: r.last_verified,
  consecutiveFailures: r.consecutive_failures,
  nextAttemptAt: r.next_attempt_at,
  inDoubtUntil: r.in_doubt_until,
  inDoubtChunkBefore: r.in_doubt_until === null ? null : r.in_doubt_chunk_before,
  untrustedThrough: r.untrusted_through,
  trustedBackupAt: r.trusted_backup_at,
  lastInSync: r.last_in_sync,
  deepVerify: deepVerifyOf(r),
  lastAttempt: r.started_at === null || r.outcome === null ? null : { startedAt: r.started_at, outcome: r.outcome, error: r.error },
});

const deepVerifyOf = (r: Pick<Row, 'deep_verify_at' | 'deep_verify_damage' | 'deep_verify_subject'>): DeepVerify | null =>
  r.deep_verify_at === null ? null : { at: r.deep_verify_at, damage: r.deep_verify_damage, subject: readSubject(r.deep_verify_subject) };

/** What the maintenance lane needs of a user's memory (maintenance-queue.ts). */
export interface MaintenanceRecord {
  deepVerify: DeepVerify | null;
  /** Failed attempts left chunks not to trust. */
  untrusted: boolean;
  /** ctl_backups stat's utilisation (percent), with the data file it was read of; null: not known. */
  utilisation: { percent: number; dataFile: string } | null;
}

/** A subject as stored (JSON of our own writing); anything else is no subject, which no backup matches. */
function readSubject(text: string | null): BackupSubject | null {
  if (text === null) return null;
  try {
    const s = JSON.parse(text) as Partial<BackupSubject>;
    return typeof s.dataFile === 'string' && Number.isSafeInteger(s.chunks) && Number.isSafeInteger(s.dataBytes) ? { dataFile: s.dataFile, chunks: s.chunks!, dataBytes: s.dataBytes! } : null;
  } catch {
    return null;
  }
}

/** Per-user memory between attempts: last verified backup, failures in a row, backoff, doubt, chunks not to trust. */
export class UserMemory {
  constructor(private readonly db: StateDb) {}

  all(): Map<string, RememberedUser> {
    return stateRead(this.db, () => new Map((this.db.prepare(SELECT).all() as Row[]).map((r) => [r.userid, toRemembered(r)])));
  }

  /** Persists what each attempt makes of its user's memory (the rules: plan/settle-attempt.ts). */
  settle(settlements: readonly AttemptSettlement[], policy: RetryPolicy, now: number, random: () => number = Math.random): void {
    const current = this.db.prepare('SELECT consecutive_failures, untrusted_through, trusted_backup_at, last_verified FROM user_memory WHERE userid = ?');
    const upsert = this.db.prepare(
      `INSERT INTO user_memory (userid, last_verified, consecutive_failures, next_attempt_at, in_doubt_until, in_doubt_chunk_before, last_attempt_id, untrusted_through, trusted_backup_at)
       VALUES (@userid, @lastVerified, @consecutiveFailures, @nextAttemptAt, @inDoubtUntil, @inDoubtChunkBefore, @attemptId, @untrustedThrough, @trustedBackupAt)
       ON CONFLICT (userid) DO UPDATE SET
         last_verified = excluded.last_verified,
         consecutive_failures = excluded.consecutive_failures,
         next_attempt_at = excluded.next_attempt_at,
         in_doubt_until = excluded.in_doubt_until,
         in_doubt_chunk_before = excluded.in_doubt_chunk_before,
         last_attempt_id = excluded.last_attempt_id,
         untrusted_through = excluded.untrusted_through,
         trusted_backup_at = excluded.trusted_backup_at`,
    );
    stateWrite(this.db, this.db.transaction(() => {
      for (const s of settlements) {
        const row = current.get(s.userid) as Pick<Row, 'consecutive_failures' | 'untrusted_through' | 'trusted_backup_at' | 'last_verified'> | undefined;
        const before = row && { consecutiveFailures: row.consecutive_failures, untrustedThrough: row.untrusted_through, trustedBackupAt: row.trusted_backup_at, lastVerified: row.last_verified };
        upsert.run({ userid: s.userid, attemptId: s.attemptId, ...nextUserMemory(before, s, policy, now, random) });
      }
    }));
  }

  /**
   * Attempts in doubt that the index has since settled (a chunk past the one their user had before): the
   * doubt is over, and after a timeout or a crash they are recorded as the successes they were, in the
   * history and in the failures in a row (see settleInDoubt in backup-evidence.ts). `newest` is each
   * user's index now; returns who was settled as a success.
   */
  settleInDoubt(newest: ReadonlyMap<string, Pick<ChunkMark, 'chunkId' | 'lastBackup'>>, now: number): string[] {
    const rows = this.db.prepare(`${SELECT} WHERE m.in_doubt_until IS NOT NULL AND m.in_doubt_chunk_before IS NOT NULL`).all() as Row[];
    const settled = rows.filter((r) => {
      const mark = newest.get(r.userid);
      return mark !== undefined && isSettledBy(toRemembered(r), mark.chunkId);
    });
    if (settled.length === 0) return [];
    const endDoubt = this.db.prepare('UPDATE user_memory SET in_doubt_until = NULL, in_doubt_chunk_before = NULL WHERE userid = ?');
    const attempt = this.db.prepare("UPDATE attempt SET outcome = 'ok', error = @error, chunk_after = @chunk WHERE id = @id");
    const user = this.db.prepare(
      `UPDATE user_memory SET consecutive_failures = 0, next_attempt_at = NULL, in_doubt_until = NULL, in_doubt_chunk_before = NULL, untrusted_through = NULL,
         trusted_backup_at = NULL, last_verified = max(coalesce(last_verified, @endedAt), @endedAt) WHERE userid = @userid`,
    );
    stateWrite(this.db, this.db.transaction(() => {
      for (const r of settled) {
        const mark = newest.get(r.userid)!;
        if (r.untrusted_through === UNTIL_A_SUCCESS) {
          endDoubt.run(r.userid);
          continue;
        }
        attempt.run({ id: r.last_attempt_id, error: settledNote(r.error, mark.chunkId), chunk: mark.chunkId });
        user.run({ userid: r.userid, endedAt: Math.min(mark.lastBackup ?? now, now) });
      }
    }));
    return settled.filter((r) => r.untrusted_through !== UNTIL_A_SUCCESS).map((r) => r.userid);
  }

  /** The verdict of a deep verification (the maintenance lane's `ctl_backups verify`) of the user's backup. */
  recordDeepVerify(userid: string, verdict: DeepVerify): void {
    stateWrite(this.db, () =>
      this.db
        .prepare(
          `INSERT INTO user_memory (userid, deep_verify_at, deep_verify_damage, deep_verify_subject) VALUES (@userid, @at, @damage, @subject)
           ON CONFLICT (userid) DO UPDATE SET deep_verify_at = excluded.deep_verify_at, deep_verify_damage = excluded.deep_verify_damage,
             deep_verify_subject = excluded.deep_verify_subject`,
        )
        .run({ userid, at: verdict.at, damage: verdict.damage, subject: verdict.subject && JSON.stringify(verdict.subject) }),
    );
  }

  /** `ctl_backups stat`'s utilisation of the user's backup (percent) as read of its data file; null forgets it (a compaction changed it). */
  recordUtilisation(userid: string, percent: number | null, dataFile: string | null): void {
    stateWrite(this.db, () =>
      this.db
        .prepare(
          `INSERT INTO user_memory (userid, utilisation, utilisation_subject) VALUES (?, ?, ?)
           ON CONFLICT (userid) DO UPDATE SET utilisation = excluded.utilisation, utilisation_subject = excluded.utilisation_subject`,
        )
        .run(userid, percent, dataFile),
    );
  }

  /** Each user's deep verification, untrusted chunks and utilisation, in one read (all() joins the attempts too). */
  maintenanceRecords(): Map<string, MaintenanceRecord> {
    type MaintenanceRow = Pick<Row, 'userid' | 'deep_verify_at' | 'deep_verify_damage' | 'deep_verify_subject' | 'untrusted_through'> & { utilisation: number | null; utilisation_subject: string | null };
    const rows = stateRead(
      this.db,
      () =>
        this.db
          .prepare('SELECT userid, deep_verify_at, deep_verify_damage, deep_verify_subject, untrusted_through, utilisation, utilisation_subject FROM user_memory')
          .all() as MaintenanceRow[],
    );
    return new Map(
      rows.map((r) => [
        r.userid,
        {
          deepVerify: deepVerifyOf(r),
          untrusted: r.untrusted_through !== null,
          utilisation: r.utilisation === null || r.utilisation_subject === null ? null : { percent: r.utilisation, dataFile: r.utilisation_subject },
        },
      ]),
    );
  }

  /**
   * Before a compaction, which moves the index's newest chunk end back: when the user was last really
   * backed up (already believed: its index or our verified record) is kept as its last verified backup.
   */
  keepBackupTime(userid: string, realBackupAt: number): void {
    stateWrite(this.db, () =>
      this.db
        .prepare(
          `INSERT INTO user_memory (userid, last_verified) VALUES (@userid, @at)
           ON CONFLICT (userid) DO UPDATE SET last_verified = max(coalesce(last_verified, @at), @at)`,
        )
        .run({ userid, at: realBackupAt }),
    );
  }

  /**
   * After a crash: users whose attempt was interrupted are in doubt for the grace, from when it began. The
   * IMAP server went on with it (only this process died), so a chunk past the one it had settles it.
   */
  markInDoubt(users: ReadonlyArray<{ userid: string; attemptId: number; since: number; chunkBefore: number | null }>, grace: number): void {
    const upsert = this.db.prepare(
      `INSERT INTO user_memory (userid, in_doubt_until, in_doubt_chunk_before, last_attempt_id) VALUES (@userid, @until, @chunkBefore, @attemptId)
       ON CONFLICT (userid) DO UPDATE SET in_doubt_until = excluded.in_doubt_until, in_doubt_chunk_before = excluded.in_doubt_chunk_before,
         last_attempt_id = excluded.last_attempt_id`,
    );
    stateWrite(this.db, this.db.transaction(() => {
      for (const u of users) upsert.run({ userid: u.userid, until: u.since + grace, chunkBefore: u.chunkBefore, attemptId: u.attemptId });
    }));
  }
}
