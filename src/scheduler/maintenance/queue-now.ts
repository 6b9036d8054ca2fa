// The maintenance queue as the state database and a classification make it now: the lane's at each cycle,
// and `plan`'s.
import type { MaintenanceConfig } from '../../config/maintenance.js';
import type { UserStatus } from '../../staleness/classify.js';
import { ALL_DAY, windowState } from '../../units/daily-window.js';
import type { MaintenanceLog } from '../state/maintenance-log.js';
import type { UserMemory } from '../state/user-memory.js';
import { maintenanceQueue, type MaintenanceMemory, type MaintenancePolicy, type MaintenanceQueue } from './maintenance-queue.js';

/** The rules' part of the `maintenance:` block. */
export function maintenancePolicy(m: MaintenanceConfig): MaintenancePolicy {
  return { window: m.window ?? null, compactChunks: m.compactChunks, compactBelowUtilisation: m.compactBelowUtilisation ?? null, verifyEvery: m.verifyEvery };
}

export interface QueueNow extends MaintenanceQueue {
  /** Rolling verifications already started in the current opening. */
  rollingUsed: number;
}

export function queueNow(
  state: { memory: UserMemory; log: MaintenanceLog },
  policy: MaintenancePolicy,
  users: readonly UserStatus[],
  busy: ReadonlySet<string>,
  now: number,
  timeZone?: string,
): QueueNow {
  const records = state.memory.maintenanceRecords();
  const compactions = state.log.lastCompactions();
  const memory = new Map<string, MaintenanceMemory>();
  for (const user of users) {
    if (user.dataFile === null) continue;
    const r = records.get(user.userid);
    memory.set(user.userid, {
      deepVerify: r?.deepVerify ?? null,
      utilisation: r?.utilisation && r.utilisation.dataFile === user.dataFile ? r.utilisation.percent : null,
      lastCompaction: compactions.get(user.userid) ?? null,
      attemptUnsettled: user.inDoubt || r?.untrusted === true,
    });
  }
  const { openedAt } = windowState(policy.window ?? ALL_DAY, now, timeZone);
  const rollingUsed = openedAt === null ? 0 : state.log.rollingSince(openedAt);
  const zone = timeZone === undefined ? {} : { timeZone };
  return { ...maintenanceQueue({ now, users, memory, policy, rollingUsed, busy, ...zone }), rollingUsed };
}
