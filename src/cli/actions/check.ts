import { statSync } from 'node:fs';
import { BackupsDbReader } from '../../backupd/backups-listing.js';
import { probeBackupServer } from '../../backupd/probe-backup-server.js';
import { configFileFromEnv, loadConfig, type Config, type ServerConfig } from '../../config/load.js';
import { readAccessOfThisProcess } from '../../config/read-access.js';
import type { BackupServerPaths } from '../../config/backup-server.js';
import { AdminSession, connectionError } from '../../imap/admin-session.js';
import { hasXbackup } from '../../imap/cyrus-version.js';
import { probeXbackup } from '../../imap/probe-xbackup.js';
import { XBACKUP_REMOVED_ADVICE } from '../../imap/xbackup-failure.js';
import { userExists } from '../../imap/user-exists.js';
import { validateUserid } from '../../imap/wire-validation.js';
import { runUserBackup } from '../../scheduler/run-user-backup.js';
import { resolveBackupServer } from '../backup-server-view.js';
import { checkMaintenanceCommand } from './check-maintenance.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { commandLogger } from '../logger.js';
import type { CliIo } from '../program.js';
import type { CheckOptions } from '../commands.js';
import { checkLine, type CheckLine } from '../output/check-lines.js';
import { comparisonLine, schedulePolicyLines } from '../output/policy-check-lines.js';
import { plural } from '../../text/plural.js';


/** A canary slower than this has most likely waited for the IMAP-protocol probe `<channel>_sync_try_imap: no` avoids. */
const SLOW_CANARY_MS = 9_000;

/** `check`: one PASS, WARN or FAIL line per thing checked; exit 1 when anything failed. */
export async function runCheck(opts: CheckOptions, io: CliIo, setExit: (code: number) => void): Promise<void> {
  if (opts.canary !== undefined) validateUserid(opts.canary);
  const lines: CheckLine[] = [];
  const say = (line: CheckLine) => {
    lines.push(line);
    io.stdout(checkLine(line, opts.json ?? false));
  };
  const config = loadConfig(configFileFromEnv(opts.config, io.env), { secrets: true });
  await checkLoadedConfig(config, opts.canary, say, commandLogger(opts));
  setExit(lines.some((l) => l.verdict === 'FAIL') ? ExitCode.someWorkFailed : ExitCode.ok);
}

/** The Cyrus version each IMAP server announced at login: null when it announced none, absent when the login failed. */
export type ImapVersions = Record<string, string | null>;

/** Every check after the config has loaded, each line said as it is found (`diagnose` collects them). */
export async function checkLoadedConfig(
  config: Config,
  canary: string | undefined,
  say: (l: CheckLine) => void,
  logger: ReturnType<typeof commandLogger>,
): Promise<ImapVersions> {
  say({ verdict: 'PASS', what: 'config', detail: `${config.file}: ${plural(config.servers.length, 'IMAP server')}` });
  for (const line of schedulePolicyLines(config.policy)) say(line);
  const paths = await checkBackupServer(config, say);
  if (paths) await checkMaintenanceCommand(config, paths, say);
  const versions: ImapVersions = {};
  const canaryOn: Array<{ server: string; found: boolean }> = [];
  for (const server of config.servers) {
    const checked = await checkImapServer(server, paths, canary, config.policy.compareLive, say, logger);
    if (checked === undefined) continue;
    versions[server.name] = checked.version;
    if (checked.canaryFound !== undefined) canaryOn.push({ server: server.name, found: checked.canaryFound });
  }
  if (canary !== undefined && canaryOn.length > 0 && canaryOn.every((c) => !c.found)) {
    const asked = canaryOn.map((c) => c.server).join(', ');
    say({ verdict: 'FAIL', what: 'canary', detail: `${canary} is on none of the servers asked (${asked}), so nothing was backed up; give --canary the userid of a small user that exists there (it is backed up for real)` });
  }
  return versions;
}

async function checkBackupServer(config: Config, say: (l: CheckLine) => void): Promise<BackupServerPaths | null> {
  let paths: BackupServerPaths;
  try {
    paths = resolveBackupServer(config);
  } catch (err) {
    say({ verdict: 'FAIL', what: 'backup server config', detail: (err as Error).message });
    return null;
  }
  checkReadAccess(config, paths, say);
  if (!mayExist(paths.backupsDb)) {
    say({ verdict: 'WARN', what: 'backups.db', detail: `${paths.backupsDb} does not exist yet; Cyrus creates it at the first backup (if backups were made, backup_db_path is wrong)` });
    return paths;
  }
  try {
    const probe = await probeBackupServer(paths);
    say({ verdict: 'PASS', what: 'backups.db', detail: `${paths.backupsDb} (${probe.backend}): ${plural(probe.users, 'backup')}, ${plural(probe.sampled, 'index', 'indexes')} read` });
    for (const u of probe.unreadable) say({ verdict: 'FAIL', what: `index of ${u.userid}`, detail: u.error });
  } catch (err) {
    say({ verdict: 'FAIL', what: 'backups.db', detail: (err as Error).message });
  }
  return paths;
}

/**
 * stat(2), not fs.existsSync, whose access(2) ignores the CAP_DAC_READ_SEARCH the scheduler reads with. A
 * refusal is not absence: the read that follows says what refused.
 */
function mayExist(file: string): boolean {
  try {
    return statSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

/**
 * Whether the files backupd creates later will be readable too: access through group or ACL grants
 * passes every check today and fails at the next new user's data file, which backupd creates mode 0600.
 */
function checkReadAccess(config: Config, paths: BackupServerPaths, say: (l: CheckLine) => void): void {
  const access = readAccessOfThisProcess(paths.configDirectory);
  if (!access) return;
  say({ verdict: access.lasting ? 'PASS' : 'WARN', what: 'read access', detail: access.detail });
  if (config.bootstrap.compactAfter && !access.cyrusTools && config.maintenance.command === undefined) {
    say({
      verdict: 'WARN',
      what: 'bootstrap.compactAfter',
      detail: `${config.file}: ctl_backups compact works only as root or cyrus, which this process is not; set maintenance.command (README Permissions), or set compactAfter: false and let xbackup-scheduler-compact.timer (config/) run \`ctl_backups compact -A\` as cyrus`,
    });
  }
}

async function checkImapServer(
  server: ServerConfig,
  paths: BackupServerPaths | null,
  canary: string | undefined,
  compareLive: boolean,
  say: (l: CheckLine) => void,
  logger: ReturnType<typeof commandLogger>,
): Promise<{ version: string | null; canaryFound?: boolean } | undefined> {
  let session: AdminSession;
  try {
    session = await AdminSession.open(server, { logger });
  } catch (err) {
    say({ verdict: 'FAIL', what: `${server.name} login`, detail: connectionError(server.name, err).message });
    return undefined;
  }
  const version = session.version;
  try {
    say({
      verdict: 'PASS',
      what: `${server.name} login`,
      detail: `${server.user}@${server.host}:${server.port} (${server.tls}), ${version ? `Cyrus ${version.text}` : 'version not announced'}, hierarchy separator "${session.naming.separator}"`,
    });
    if (version && !hasXbackup(version)) {
      say({ verdict: 'FAIL', what: `${server.name} version`, detail: `Cyrus ${version.text} has no XBACKUP. ${XBACKUP_REMOVED_ADVICE}` });
      return { version: version.text };
    }
    const probe = await probeXbackup(session);
    if (!probe.ok) {
      say({ verdict: 'FAIL', what: `${server.name} XBACKUP`, detail: probe.message });
      return { version: version?.text ?? null };
    }
    say({ verdict: 'PASS', what: `${server.name} XBACKUP`, detail: `enabled, ${server.user} is an admin; channel "${server.channel}" (only --canary shows that the channel is configured on the server and backupd is reachable)` });
    if (compareLive) say(comparisonLine(server.name, session.capabilities));
    if (canary !== undefined && paths) return { version: version?.text ?? null, canaryFound: await checkCanary(session, paths, canary, say) };
  } catch (err) {
    say({ verdict: 'FAIL', what: server.name, detail: connectionError(server.name, err).message });
  } finally {
    await session.close();
  }
  return { version: version?.text ?? null };
}

/** Whether the canary is on this server; backed up and checked when it is. Found on no server at all is check's FAIL. */
async function checkCanary(session: AdminSession, paths: BackupServerPaths, userid: string, say: (l: CheckLine) => void): Promise<boolean> {
  const name = session.server.name;
  if (!(await userExists(session, userid))) {
    say({ verdict: 'WARN', what: `${name} canary`, detail: `${userid} is not on ${name}; canary skipped here` });
    return false;
  }
  const result = await runUserBackup(session, new BackupsDbReader(paths), userid);
  if (result.outcome !== 'ok') {
    say({ verdict: 'FAIL', what: `${name} canary ${userid}`, detail: result.error ?? result.outcome });
    return true;
  }
  const took = `${result.seconds.toFixed(2)} s`;
  if (result.seconds * 1000 >= SLOW_CANARY_MS) {
    say({ verdict: 'WARN', what: `${name} canary ${userid}`, detail: `backed up and verified, but it took ${took}: set ${session.server.channel}_sync_try_imap: no in ${name}'s imapd.conf (each XBACKUP now waits 10 s for an IMAP probe of backupd)` });
  } else {
    say({ verdict: 'PASS', what: `${name} canary ${userid}`, detail: `backed up in ${took} and a new chunk is in its index` });
  }
  return true;
}
