// What one mode of in-sync-run.ts cost and how late it was, read afterwards from the scheduler's state
// database (as an auditor would) and from the backup indexes themselves.
import type { AttemptRow } from '../test/support/state-db-reader.js';
import type { Delivery } from './in-sync-mail.js';

export interface Costs {
  /** XBACKUP commands: attempts sharing pattern and start are one command. */
  commands: number;
  userAttempts: number;
  inSyncRecords: number;
  /** Outcome → attempts, in-sync left out; anything but `ok` deserves a look. */
  outcomes: Record<string, number>;
}

export interface MessageWaits {
  /** The longest ended_at − appendedAt of the messages an `ok` attempt started after their append took. */
  worstBackedUpMs: number;
  worstBackedUp: Delivery | null;
  backedUp: number;
  /** Messages no attempt took before the end: waiting end − appendedAt, the longest of them. */
  stillWaiting: number;
  worstStillWaitingMs: number;
  worstStillWaiting: Delivery | null;
}

/** Attempts that started within [from, to]: the timed part, not the backup that set the start up. */
export function costsOf(attempts: readonly AttemptRow[], from: number, to: number): Costs {
  const timed = attempts.filter((a) => a.started_at >= from && a.started_at <= to);
  const sent = timed.filter((a) => a.outcome !== 'in-sync');
  const outcomes: Record<string, number> = {};
  for (const a of sent) outcomes[a.outcome ?? 'open'] = (outcomes[a.outcome ?? 'open'] ?? 0) + 1;
  return {
    commands: new Set(sent.map((a) => `${a.pattern}\0${a.started_at}`)).size,
    userAttempts: sent.length,
    inSyncRecords: timed.length - sent.length,
    outcomes,
  };
}

/** Each message is backed up by its user's first `ok` attempt that started after it was appended. */
export function messageWaits(attempts: readonly AttemptRow[], deliveries: readonly Delivery[], end: number): MessageWaits {
  const okByUser = new Map<string, AttemptRow[]>();
  for (const a of attempts) if (a.outcome === 'ok') okByUser.set(a.userid, [...(okByUser.get(a.userid) ?? []), a]);
  const waits: MessageWaits = { worstBackedUpMs: 0, worstBackedUp: null, backedUp: 0, stillWaiting: 0, worstStillWaitingMs: 0, worstStillWaiting: null };
  for (const d of deliveries) {
    const taken = (okByUser.get(d.userid) ?? []).filter((a) => a.started_at > d.appendedAt).sort((x, y) => x.started_at - y.started_at)[0];
    if (taken) {
      waits.backedUp++;
      const ms = taken.ended_at! - d.appendedAt;
      if (ms > waits.worstBackedUpMs) Object.assign(waits, { worstBackedUpMs: ms, worstBackedUp: d });
    } else {
      waits.stillWaiting++;
      const ms = end - d.appendedAt;
      if (ms > waits.worstStillWaitingMs) Object.assign(waits, { worstStillWaitingMs: ms, worstStillWaiting: d });
    }
  }
  return waits;
}


export function chunksAdded(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): number {
  let added = 0;
  for (const [userid, n] of after) added += n - (before.get(userid) ?? 0);
  return added;
}

/**
 * XBACKUPs of a user that got no new mail since its previous `ok` attempt (or since `from`): all of
 * them are expected when judging by age, none with the comparison before maxUnchangedAge.
 */
export function unprompted(attempts: readonly AttemptRow[], deliveries: readonly Delivery[], from: number): AttemptRow[] {
  const found: AttemptRow[] = [];
  const since = new Map<string, number>();
  for (const a of [...attempts].sort((x, y) => x.started_at - y.started_at)) {
    if (a.started_at < from || a.outcome === 'in-sync') continue;
    const previous = since.get(a.userid) ?? from;
    if (!deliveries.some((d) => d.userid === a.userid && d.appendedAt >= previous && d.appendedAt < a.started_at)) found.push(a);
    if (a.outcome === 'ok') since.set(a.userid, a.started_at);
  }
  return found;
}
