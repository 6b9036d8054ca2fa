import type { Logger } from 'pino';
import type { BackupResult } from './backup-result.js';
import type { CycleRunner } from './cycle.js';
import type { FirstBackupGroup, HeldUser } from './plan/plan-types.js';

export interface BootstrapEvents {
  /** Before each group, with the number of users still missing (including this group). */
  onGroup?: (group: FirstBackupGroup, missing: number, missingBytes: number | null) => void;
  onWait?: (why: string, until: number) => void;
}

export interface BootstrapOutcome {
  results: BackupResult[];
  /** Missing users it could not back up now, and why (in doubt, server paused, ...). */
  leftOver: HeldUser[];
}

const STAGING_RECHECK_MS = 30_000;

/** A bootstrap's users, each counted once. */
export interface BootstrapTally {
  ok: number;
  failed: number;
  leftOver: number;
}

/**
 * Each user counted once, by its final outcome: its last result in this run (a user that failed and was
 * tried again in a later group is what the later attempt came to), or left for later when it was never
 * tried. A user that failed and waits for its retry is failed, not also left for later.
 */
export function tallyBootstrap(outcome: BootstrapOutcome): BootstrapTally {
  const last = new Map<string, BackupResult>();
  for (const r of outcome.results) last.set(r.userid, r);
  const ok = [...last.values()].filter((r) => r.outcome === 'ok').length;
  const leftOver = new Set(outcome.leftOver.map((h) => h.userid).filter((u) => !last.has(u))).size;
  return { ok, failed: last.size - ok, leftOver };
}

/**
 * First backups of every missing user, one small group at a time (spec §5). Each round re-reads the
 * backup server and our history, so a killed bootstrap started again goes on with who is left.
 */
export async function runBootstrap(
  cycle: CycleRunner,
  options: { logger: Logger; now: () => number; sleep: (ms: number) => Promise<void>; shouldStop: () => boolean; events?: BootstrapEvents },
): Promise<BootstrapOutcome> {
  const results: BackupResult[] = [];
  for (;;) {
    if (options.shouldStop()) return { results, leftOver: [] };
    const looked = await cycle.look({ refreshes: false, firstBackups: true });
    const missing = looked.classification.users.filter((u) => u.state === 'missing');
    const group = looked.plan.firstGroup;
    if (group && group.users.length > 0) {
      const known = missing.every((u) => u.mailBytes !== null);
      options.events?.onGroup?.(group, missing.length, known ? missing.reduce((sum, u) => sum + (u.mailBytes ?? 0), 0) : null);
      const outcome = await cycle.execute(looked, options.now(), options.shouldStop);
      results.push(...outcome.results);
      continue;
    }
    const held = looked.plan.held.filter((h) => missing.some((u) => u.userid === h.userid));
    const pause = held.find((h) => h.reason === 'bootstrap-pause');
    const staging = held.find((h) => h.reason === 'staging-space');
    if (pause || staging) {
      const until = pause && looked.nextGroupAt !== null ? looked.nextGroupAt : options.now() + STAGING_RECHECK_MS;
      options.events?.onWait?.(pause ? 'pause between groups' : staging!.detail, until);
      await options.sleep(Math.max(50, until - options.now()));
      continue;
    }
    return { results, leftOver: held };
  }
}
