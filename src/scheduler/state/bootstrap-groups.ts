import { ALL_DAY, windowState, type DailyWindow } from '../../units/daily-window.js';
import type { StateDb } from './open-state-db.js';
import { stateWrite } from './state-write-error.js';

/** First-backup groups: numbered, so history says which group an attempt belonged to. */
export class BootstrapGroups {
  constructor(private readonly db: StateDb) {}

  /** `bytes`: the group's known first-backup bytes, which bootstrap.maxBytesPerWindow counts. */
  start(now: number, bytes: number): number {
    return Number(stateWrite(this.db, () => this.db.prepare('INSERT INTO bootstrap_group (started_at, bytes) VALUES (?, ?)').run(now, bytes)).lastInsertRowid);
  }

  /**
   * What bootstrap.maxBytesPerWindow has used: the bytes of the groups started since `window` last opened
   * (without a window, since local midnight), read from the database so a restart inside a window goes on
   * with it. 0 while the window is closed.
   */
  bytesThisWindow(window: DailyWindow | null, now: number): number {
    const { openedAt } = windowState(window ?? ALL_DAY, now);
    if (openedAt === null) return 0;
    const row = this.db.prepare('SELECT coalesce(sum(bytes), 0) AS bytes FROM bootstrap_group WHERE started_at >= ? AND started_at <= ?').get(openedAt, now) as { bytes: number };
    return row.bytes;
  }

  end(id: number, now: number): void {
    stateWrite(this.db, () => this.db.prepare('UPDATE bootstrap_group SET ended_at = ? WHERE id = ?').run(now, id));
  }

  /** When the last group ended; a group left open by a crash counts as ended when it started. */
  lastEndedAt(): number | null {
    const row = this.db.prepare('SELECT coalesce(ended_at, started_at) AS at FROM bootstrap_group ORDER BY id DESC LIMIT 1').get() as { at: number } | undefined;
    return row?.at ?? null;
  }

  /**
   * For each user a first-backup group has tried: when the first such group ended (a group left open by a
   * crash, or still running, counts as ended when it started). That group should have taken the user.
   */
  firstTriedBy(): Map<string, number> {
    const rows = this.db
      .prepare('SELECT a.userid, min(coalesce(g.ended_at, g.started_at)) AS at FROM attempt a JOIN bootstrap_group g ON g.id = a.grp GROUP BY a.userid')
      .all() as Array<{ userid: string; at: number }>;
    return new Map(rows.map((r) => [r.userid, r.at]));
  }
}
