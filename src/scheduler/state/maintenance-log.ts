import type { StateDb } from './open-state-db.js';
import { stateRead, stateWrite } from './state-write-error.js';

export type MaintenanceRunVerb = 'verify' | 'compact' | 'stat';

/**
 * How a run ended: a verify's verdict (ok: whole, damaged, not-now, not-found, error: ctl_backups could not
 * run), ctl_backups's own answer (skipped, locked), failed, or interrupted (cut short, or left open by a crash).
 */
export const MAINTENANCE_OUTCOMES = ['ok', 'damaged', 'not-now', 'not-found', 'error', 'skipped', 'locked', 'failed', 'interrupted'] as const;
export type MaintenanceOutcome = (typeof MAINTENANCE_OUTCOMES)[number];

/** Why the lane ran it (maintenance-queue.ts). */
export type MaintenanceWhy = 'rolling' | 'recheck' | 'before-compact' | 'compact' | 'utilisation';

export interface MaintenanceRunRow {
  id: number;
  userid: string;
  verb: MaintenanceRunVerb;
  why: MaintenanceWhy;
  startedAt: number;
  endedAt: number | null;
  chunks: number | null;
  outcome: string | null;
  detail: string | null;
}

interface Row {
  id: number;
  userid: string;
  verb: MaintenanceRunVerb;
  why: MaintenanceWhy;
  started_at: number;
  ended_at: number | null;
  chunks: number | null;
  outcome: string | null;
  detail: string | null;
}

/** A total's key, which sorts the totals by verb, then outcome. */
const totalKey = (verb: MaintenanceRunVerb, outcome: string): string => `${verb}\0${outcome}`;

const toRun = (r: Row): MaintenanceRunRow => ({ id: r.id, userid: r.userid, verb: r.verb, why: r.why, startedAt: r.started_at, endedAt: r.ended_at, chunks: r.chunks, outcome: r.outcome, detail: r.detail });

/** Every ctl_backups run of the maintenance lane: written when it starts and again when it ends. */
export class MaintenanceLog {
  /** totals(), counted once and then kept up by end(): the status page asks at every run's end, and the table only grows. */
  private counted: Map<string, { verb: MaintenanceRunVerb; outcome: string; runs: number }> | null = null;

  constructor(private readonly db: StateDb) {}

  start(userid: string, verb: MaintenanceRunVerb, why: MaintenanceWhy, chunks: number | null, at: number): number {
    return stateWrite(this.db, () =>
      Number(this.db.prepare('INSERT INTO maintenance_run (userid, verb, why, started_at, chunks) VALUES (?, ?, ?, ?, ?)').run(userid, verb, why, at, chunks).lastInsertRowid),
    );
  }

  end(id: number, outcome: MaintenanceOutcome, detail: string | null, at: number): void {
    const row = stateWrite(this.db, () => this.db.prepare('UPDATE maintenance_run SET ended_at = ?, outcome = ?, detail = ? WHERE id = ? RETURNING verb').get(at, outcome, detail, id)) as
      | { verb: MaintenanceRunVerb }
      | undefined;
    if (row && this.counted) {
      const total = this.counted.get(totalKey(row.verb, outcome)) ?? { verb: row.verb, outcome, runs: 0 };
      this.counted.set(totalKey(row.verb, outcome), { ...total, runs: total.runs + 1 });
    }
  }

  /** Runs a crash left open, closed as interrupted; returns them. */
  closeInterrupted(at: number): MaintenanceRunRow[] {
    return stateWrite(this.db, this.db.transaction(() => {
      const open = (this.db.prepare('SELECT * FROM maintenance_run WHERE ended_at IS NULL').all() as Row[]).map(toRun);
      this.db.prepare("UPDATE maintenance_run SET ended_at = ?, outcome = 'interrupted' WHERE ended_at IS NULL").run(at);
      this.counted = null;
      return open;
    }));
  }

  /**
   * Users with a run not yet ended: under way in this process's lane or in the running scheduler's (one a
   * crash left open stays so until the next `run` closes it as interrupted).
   */
  usersUnderWay(): Set<string> {
    return new Set(stateRead(this.db, () => (this.db.prepare('SELECT DISTINCT userid FROM maintenance_run WHERE ended_at IS NULL').all() as Array<{ userid: string }>).map((r) => r.userid)));
  }

  /** Rolling verifications started since `since` (ms): what a window opening's share has used. */
  rollingSince(since: number): number {
    return stateRead(this.db, () => (this.db.prepare("SELECT count(*) AS n FROM maintenance_run WHERE verb = 'verify' AND why = 'rolling' AND started_at >= ?").get(since) as { n: number }).n);
  }

  /** Each user's last compaction: when it began, the chunks it began with, what ctl_backups said. */
  lastCompactions(): Map<string, { at: number; chunks: number | null; outcome: string | null }> {
    const rows = stateRead(
      this.db,
      () =>
        this.db
          .prepare("SELECT userid, max(started_at) AS at, chunks, outcome FROM maintenance_run WHERE verb = 'compact' GROUP BY userid")
          .all() as Array<{ userid: string; at: number; chunks: number | null; outcome: string | null }>,
    );
    return new Map(rows.map((r) => [r.userid, { at: r.at, chunks: r.chunks, outcome: r.outcome }]));
  }

  /** Runs by verb and outcome, over every run on this state database (for /metrics). */
  totals(): Array<{ verb: MaintenanceRunVerb; outcome: string; runs: number }> {
    this.counted ??= new Map(
      (
        stateRead(this.db, () => this.db.prepare('SELECT verb, outcome, count(*) AS runs FROM maintenance_run WHERE outcome IS NOT NULL GROUP BY verb, outcome').all()) as Array<{
          verb: MaintenanceRunVerb;
          outcome: string;
          runs: number;
        }>
      ).map((t) => [totalKey(t.verb, t.outcome), t]),
    );
    return [...this.counted].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, total]) => total);
  }

  /** The newest runs first, at most `limit`; only `userid`'s when given (`history --maintenance`). */
  recent(limit: number, userid?: string): MaintenanceRunRow[] {
    const where = userid === undefined ? '' : 'WHERE userid = ? ';
    const params = userid === undefined ? [limit] : [userid, limit];
    return stateRead(this.db, () => (this.db.prepare(`SELECT * FROM maintenance_run ${where}ORDER BY id DESC LIMIT ?`).all(...params) as Row[]).map(toRun));
  }
}
