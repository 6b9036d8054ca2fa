// New mail while `run` runs: each minute one message to a random tenth of the users, seeded, so both
// modes of in-sync-run.ts see the same users get mail at the same offsets from their start.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CyrusTestBed } from '../test/cyrus/testbed.js';
import { deliverOne } from './in-sync-fleet.js';
import { mulberry32 } from './synthetic-population.js';

export interface Delivery {
  userid: string;
  /** When the APPEND was answered OK (ms): from then on the message is in the live mailbox. */
  appendedAt: number;
}

export const SHARE_PER_MINUTE = 0.1;
const MINUTE_MS = 60_000;

/**
 * `rounds` rounds, at 0, 1, … minutes after `startedAt`; each picks its users at once (distinct, by a
 * partial Fisher–Yates shuffle) and appends one message to each, one after the other.
 */
export async function deliverMail(bed: CyrusTestBed, userids: readonly string[], seed: number, startedAt: number, rounds: number): Promise<Delivery[]> {
  const random = mulberry32(seed);
  const perRound = Math.max(1, Math.round(userids.length * SHARE_PER_MINUTE));
  const deliveries: Delivery[] = [];
  for (let round = 0; round < rounds; round++) {
    const wait = startedAt + round * MINUTE_MS - Date.now();
    if (wait > 0) await sleep(wait);
    const pool = [...userids];
    for (let i = 0; i < perRound; i++) {
      const j = i + Math.floor(random() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      await deliverOne(bed, pool[i]!);
      deliveries.push({ userid: pool[i]!, appendedAt: Date.now() });
    }
  }
  return deliveries;
}
