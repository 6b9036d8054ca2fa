import { SHARED_BACKUP_KEY } from '../cyrus-names/cyrus-userid.js';
import { serverConflict } from '../staleness/server-conflict.js';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/load.js';
import { compileUseridPattern, isUseridPattern, matchesAny, type UseridPattern } from '../cyrus-names/userid-pattern.js';
import { useridToMailbox, type MailboxNaming } from '../imap/mailbox-names.js';
import { WireValueError } from '../imap/wire-value-error.js';
import type { Executor } from './executor.js';
import type { PlannedCommand } from './plan/plan-types.js';
import { discoverFleet } from '../imap/discover-fleet.js';
import type { FleetDiscovery } from '../imap/fleet-discovery.js';
import { validateUserid, validateUseridPattern } from '../imap/wire-validation.js';
import { ALL_USERS, type BackupResult } from './backup-result.js';
import type { ServerHealth } from './plan/settle-attempt.js';
import { plural } from '../text/plural.js';
import { isoTime } from '../units/time.js';

export interface ForceBackupTarget {
  userid: string;
  server: string;
  /** Its INBOX as XBACKUP names it on that server. */
  inbox: string;
}

/** Who a forced backup would touch, and who it refuses and why, decided before any XBACKUP is sent. */
export interface ForceBackupPlan {
  targets: ForceBackupTarget[];
  refused: BackupResult[];
  discovery: FleetDiscovery;
}

/** Refuses, before any connection, a pattern or userid that could not safely reach the wire. */
export function validateRequestedPatterns(patterns: readonly string[]): UseridPattern[] {
  return patterns.map((p) => compileUseridPattern(isUseridPattern(p) ? validateUseridPattern(p) : validateUserid(p)));
}

/**
 * Asks every configured server, even with `onlyServer`: a user found on two servers is refused
 * whichever one was asked for, since both would write into the same backup.
 */
export async function planForcedBackup(
  servers: readonly ServerConfig[],
  patterns: readonly string[],
  options: { onlyServer?: string | undefined; logger?: Logger; now?: () => number } = {},
): Promise<ForceBackupPlan> {
  const now = options.now ?? Date.now;
  const wanted = validateRequestedPatterns(patterns);
  const discovery = await discoverFleet(servers, options.logger, now);
  const refused: BackupResult[] = [];
  const refuse = (userid: string, server: string, error: string) =>
    refused.push({ userid, server, outcome: 'error', startedAt: now(), seconds: 0, error, inDoubt: false, connectionDropped: false, locked: false, group: null, verifiedBackupAt: null, chunks: null, pattern: null });

  const foundOn = new Map<string, string[]>();
  for (const s of discovery.servers) {
    if (!s.ok) refuse(ALL_USERS, s.name, `cannot ask ${s.name} for its users: ${s.error}`);
    // Shared mailboxes (%SHARED) are refreshed by the scheduler, not named by a userid pattern.
    for (const u of s.users) if (u.userid !== SHARED_BACKUP_KEY && matchesAny(u.userid, wanted)) foundOn.set(u.userid, [...(foundOn.get(u.userid) ?? []), s.name]);
  }
  const namingOf = new Map(discovery.servers.map((s) => [s.name, s.naming]));
  const targets: ForceBackupTarget[] = [];
  for (const [userid, on] of [...foundOn].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const server = on[0]!;
    const conflict = serverConflict(userid, on);
    if (conflict) refuse(userid, on.join(','), `${userid} ${conflict}`);
    else if (options.onlyServer === undefined || server === options.onlyServer) {
      const inbox = inboxOnTheWire(userid, namingOf.get(server)!);
      if (inbox instanceof WireValueError) refuse(userid, server, `its userid cannot be sent in an XBACKUP command: ${inbox.reason}`);
      else targets.push({ userid, server, inbox });
    }
  }
  const asked = discovery.servers.filter((s) => s.ok).map((s) => s.name);
  patterns.forEach((p, i) => {
    const on = new Set([...foundOn].filter(([userid]) => wanted[i]!.matches(userid)).flatMap(([, names]) => names));
    if (on.size === 0) {
      if (!isUseridPattern(p)) {
        if (discovery.servers.every((s) => s.ok)) refuse(p, '-', `${p} is on none of the configured servers (${servers.map((s) => s.name).join(', ')}) within their servers[].users patterns`);
      } else {
        // A pattern that matches nobody is most often a typo: "0 ok, 0 failed" would read as done.
        refuse(p, '-', `${p} matches no user on ${asked.length > 0 ? asked.join(', ') : 'any server (none could be asked)'} within their servers[].users patterns`);
      }
    } else if (options.onlyServer !== undefined && !on.has(options.onlyServer)) {
      refuse(p, '-', `${p} matches no user on ${options.onlyServer} (--server), only on ${[...on].sort().join(', ')}`);
    }
  });
  return { targets, refused, discovery };
}

/** A target that was never sent, and why. */
export interface SkippedTarget {
  userid: string;
  server: string;
  reason: string;
}

/**
 * Why the users left on a server were not sent: its circuit breaker opened during the run (or was
 * open already), and the executor sends nothing more to a paused server.
 */
export function skippedReason(server: string, health: ServerHealth | undefined, now: number): string {
  if (health?.pausedUntil === undefined || health.pausedUntil === null || health.pausedUntil <= now) {
    return `not sent: the run stopped before it`;
  }
  const after = health.consecutiveFailures > 0 ? ` after ${plural(health.consecutiveFailures, 'failure')} in a row` : '';
  const last = health.lastError ? ` (last: ${health.lastError})` : '';
  return `not sent: ${server} was paused${after}${last}, until ${isoTime(health.pausedUntil)}; try again after that`;
}

/** The targets that got no result, each with why. */
export function skippedTargets(
  plan: ForceBackupPlan,
  results: readonly BackupResult[],
  health: ReadonlyMap<string, ServerHealth>,
  now: number,
): SkippedTarget[] {
  const done = new Set(results.map((r) => r.userid));
  return plan.targets.filter((t) => !done.has(t.userid)).map((t) => ({ userid: t.userid, server: t.server, reason: skippedReason(t.server, health.get(t.server), now) }));
}

/**
 * Runs a forced backup: one XBACKUP per user, at most servers[].maxConcurrent at once per server, each
 * on its own connection, recorded in the history like the scheduler's own attempts.
 */
export async function executeForcedBackup(plan: ForceBackupPlan, executor: Executor): Promise<BackupResult[]> {
  const commands: PlannedCommand[] = plan.targets.map((t) => ({ server: t.server, pattern: t.inbox, userids: [t.userid], kind: 'forced' }));
  return executor.runAll(commands);
}

/** A found user's INBOX name, or why XBACKUP cannot name it (a '*' or a trailing space: Cyrus allows both). */
function inboxOnTheWire(userid: string, naming: MailboxNaming): string | WireValueError {
  try {
    return useridToMailbox(userid, naming);
  } catch (error) {
    if (error instanceof WireValueError) return error;
    throw error;
  }
}
