import type { Logger } from 'pino';
import type { BackupServerPaths } from '../config/backup-server.js';
import type { ServerConfig } from '../config/load.js';
import { compileUseridPattern, isUseridPattern, matchesAny } from '../config/userid-pattern.js';
import { CyrusDbError } from '../backupd/cyrusdb/errors.js';
import { AdminSession, connectionError } from '../imap/admin-session.js';
import { WireValueError } from '../imap/wire-value-error.js';
import { discoverFleet } from '../imap/discover-fleet.js';
import type { FleetDiscovery } from '../imap/fleet-discovery.js';
import { validateUserid, validateUseridPattern } from '../imap/wire-validation.js';
import type { BackupResult } from './backup-result.js';
import { runUserBackup } from './run-user-backup.js';

export interface ForceBackupTarget {
  userid: string;
  server: string;
}

/** Who a forced backup would touch, and who it refuses and why, decided before any XBACKUP is sent. */
export interface ForceBackupPlan {
  targets: ForceBackupTarget[];
  refused: BackupResult[];
  discovery: FleetDiscovery;
}

/** Refuses, before any connection, a pattern or userid that could not safely reach the wire. */
export function validateRequestedPatterns(patterns: readonly string[]): RegExp[] {
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
    refused.push({ userid, server, outcome: 'error', startedAt: now(), seconds: 0, error, inDoubt: false, locked: false, group: null });

  const foundOn = new Map<string, string[]>();
  for (const s of discovery.servers) {
    if (!s.ok) refuse('*', s.name, `cannot ask ${s.name} for its users: ${s.error}`);
    for (const u of s.users) if (matchesAny(u.userid, wanted)) foundOn.set(u.userid, [...(foundOn.get(u.userid) ?? []), s.name]);
  }
  const targets: ForceBackupTarget[] = [];
  for (const [userid, on] of [...foundOn].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (on.length > 1) refuse(userid, on.join(','), `${userid} is on ${on.join(' and ')}: not backed up until it lives on one server only (two servers would fight over one backup)`);
    else if (options.onlyServer === undefined || on[0] === options.onlyServer) targets.push({ userid, server: on[0]! });
  }
  for (const p of patterns) {
    if (!isUseridPattern(p) && !foundOn.has(p) && discovery.servers.every((s) => s.ok)) {
      refuse(p, '-', `${p} is on none of the configured servers (${servers.map((s) => s.name).join(', ')}) within their servers[].users patterns`);
    }
  }
  return { targets, refused, discovery };
}

/**
 * Runs a forced backup: one XBACKUP per user, at most servers[].maxConcurrent at once per server, each
 * on its own connection; every result is handed to `onResult` as soon as it is verified.
 */
export async function executeForcedBackup(
  servers: readonly ServerConfig[],
  paths: Pick<BackupServerPaths, 'backupsDb' | 'backupsDbFormat'>,
  targets: readonly ForceBackupTarget[],
  onResult: (result: BackupResult) => void,
  logger?: Logger,
): Promise<BackupResult[]> {
  const results: BackupResult[] = [];
  const report = (r: BackupResult) => {
    results.push(r);
    onResult(r);
  };
  await Promise.all(
    servers.map(async (server) => {
      const queue = targets.filter((t) => t.server === server.name).map((t) => t.userid);
      const workers = Math.min(server.maxConcurrent, queue.length);
      await Promise.all(Array.from({ length: workers }, () => drain(server, queue, paths, report, logger)));
    }),
  );
  return results;
}

/** One connection working through a shared queue; a session that dies is reopened for the next user. */
async function drain(
  server: ServerConfig,
  queue: string[],
  paths: Pick<BackupServerPaths, 'backupsDb' | 'backupsDbFormat'>,
  report: (r: BackupResult) => void,
  logger?: Logger,
): Promise<void> {
  let session: AdminSession | undefined;
  try {
    for (let userid = queue.shift(); userid !== undefined; userid = queue.shift()) {
      const startedAt = Date.now();
      try {
        if (!session?.usable) {
          await session?.close();
          session = await AdminSession.open(server, { logger });
        }
        report(await runUserBackup(session, paths, userid));
      } catch (err) {
        const error = describeFailure(server.name, err);
        report({ userid, server: server.name, outcome: 'error', startedAt, seconds: (Date.now() - startedAt) / 1000, error, inDoubt: false, locked: false, group: null });
      }
    }
  } finally {
    await session?.close();
  }
}

/** Our own typed errors already say what to do; anything else came from the connection. */
function describeFailure(server: string, err: unknown): string {
  if (err instanceof WireValueError || err instanceof CyrusDbError) return `${server}: ${err.message}`;
  return connectionError(server, err).message;
}
