import type { AttemptOutcome } from '../../staleness/user-history.js';
import type { StateDb } from './open-state-db.js';
import { stateRead, stateWrite } from './state-write-error.js';

export type AttemptKind = 'refresh' | 'first' | 'forced' | 'canary';

export interface AttemptStart {
  userid: string;
  server: string;
  kind: AttemptKind;
  group: number | null;
  pattern: string;
  startedAt: number;
  /** The user's newest chunk id right before the command (0: none): what settles the attempt if it ends in doubt. */
  chunkBefore: number | null;
}

export interface AttemptEnd {
  endedAt: number;
  outcome: Exclude<AttemptOutcome, 'interrupted' | 'in-sync'>;
  error: string | null;
  locked: boolean;
  inDoubt: boolean;
  /** The newest chunk id after the command, null when the index could not be read or the command never ran. */
  chunkAfter: number | null;
  /** The pattern that went out, when not the one planned (a wildcard narrowed to leave new users out). */
  pattern: string | null;
}

export interface AttemptRecord extends AttemptStart {
  id: number;
  endedAt: number | null;
  outcome: AttemptOutcome | null;
  error: string | null;
  locked: boolean;
  inDoubt: boolean;
  chunkAfter: number | null;
}

interface Row {
  id: number;
  userid: string;
  server: string;
  kind: AttemptKind;
  grp: number | null;
  pattern: string;
  started_at: number;
  ended_at: number | null;
  outcome: AttemptOutcome | null;
  error: string | null;
  locked: number;
  in_doubt: number;
  chunk_before: number | null;
  chunk_after: number | null;
}

const toRecord = (r: Row): AttemptRecord => ({
  id: r.id,
  userid: r.userid,
  server: r.server,
  kind: r.kind,
  group: r.grp,
  pattern: r.pattern,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  outcome: r.outcome,
  error: r.error,
  locked: r.locked === 1,
  inDoubt: r.in_doubt === 1,
  chunkBefore: r.chunk_before,
  chunkAfter: r.chunk_after,
});

/** The history of attempts: each row is written before the command goes out and again when it ends. */
export class AttemptLog {
  private readonly insert;
  private readonly finish;

  constructor(private readonly db: StateDb) {
    this.insert = db.prepare(
      'INSERT INTO attempt (userid, server, kind, grp, pattern, started_at, chunk_before) VALUES (@userid, @server, @kind, @group, @pattern, @startedAt, @chunkBefore)',
    );
    this.finish = db.prepare(
      'UPDATE attempt SET ended_at = @endedAt, outcome = @outcome, error = @error, locked = @locked, in_doubt = @inDoubt, chunk_after = @chunkAfter, pattern = coalesce(@pattern, pattern) WHERE id = @id AND ended_at IS NULL',
    );
  }

  /** Records the start of a command's attempts in one transaction; returns their ids in order. */
  start(attempts: readonly AttemptStart[]): number[] {
    return stateWrite(this.db, this.db.transaction(() => attempts.map((a) => Number(this.insert.run(a).lastInsertRowid))));
  }

  end(ends: ReadonlyArray<readonly [id: number, end: AttemptEnd]>): void {
    stateWrite(this.db, this.db.transaction(() => {
      for (const [id, e] of ends) {
        this.finish.run({ id, endedAt: e.endedAt, outcome: e.outcome, error: e.error, locked: e.locked ? 1 : 0, inDoubt: e.inDoubt ? 1 : 0, chunkAfter: e.chunkAfter, pattern: e.pattern });
      }
    }));
  }

  /**
   * Records due users found in sync with their mailboxes, who got no XBACKUP: one finished row each, outcome
   * `in-sync`, with the user's newest chunk id before and after; and each user's lastInSync. One transaction.
   */
  recordInSync(checks: ReadonlyArray<{ userid: string; server: string; pattern: string; at: number; chunk: number | null }>): void {
    const insert = this.db.prepare(
      `INSERT INTO attempt (userid, server, kind, pattern, started_at, ended_at, outcome, error, chunk_before, chunk_after)
       VALUES (@userid, @server, 'refresh', @pattern, @at, @at, 'in-sync', 'its backup held everything its mailboxes had: no XBACKUP', @chunk, @chunk)`,
    );
    const remember = this.db.prepare(
      `INSERT INTO user_memory (userid, last_in_sync) VALUES (@userid, @at)
       ON CONFLICT (userid) DO UPDATE SET last_in_sync = max(coalesce(last_in_sync, excluded.last_in_sync), excluded.last_in_sync)`,
    );
    stateWrite(this.db, this.db.transaction(() => {
      for (const check of checks) {
        insert.run(check);
        remember.run(check);
      }
    }));
  }

  /**
   * Closes attempts a crash left open as `interrupted`, in doubt: the IMAP server goes on with an
   * XBACKUP whose client died. Returns them, so their users can be given an in-doubt grace.
   */
  closeInterrupted(now: number): AttemptRecord[] {
    return stateWrite(this.db, this.db.transaction(() => {
      const open = (this.db.prepare('SELECT * FROM attempt WHERE ended_at IS NULL ORDER BY id').all() as Row[]).map(toRecord);
      this.db
        .prepare("UPDATE attempt SET ended_at = ?, outcome = 'interrupted', in_doubt = 1, error = 'the scheduler stopped before this attempt ended' WHERE ended_at IS NULL")
        .run(now);
      return open;
    }));
  }

  /** Newest first. */
  history(options: { userid?: string | undefined; limit?: number | undefined } = {}): AttemptRecord[] {
    const where = options.userid === undefined ? '' : 'WHERE userid = @userid';
    const rows = stateRead(this.db, () =>
      this.db.prepare(`SELECT * FROM attempt ${where} ORDER BY started_at DESC, id DESC LIMIT @limit`).all({ userid: options.userid, limit: options.limit ?? -1 }),
    ) as Row[];
    return rows.map(toRecord);
  }

  /** XBACKUP attempts by server and outcome, for metrics (an in-sync check sent none). */
  outcomeCounts(): Array<{ server: string; outcome: AttemptOutcome; count: number }> {
    return this.db
      .prepare("SELECT server, outcome, count(*) AS count FROM attempt WHERE outcome IS NOT NULL AND outcome != 'in-sync' GROUP BY server, outcome")
      .all() as Array<{ server: string; outcome: AttemptOutcome; count: number }>;
  }
}
