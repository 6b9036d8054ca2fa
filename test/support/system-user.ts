// An unprivileged system user for the least-privilege tests, and the scheduler run as that user exactly
// as README "Permissions" documents it.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
}

const USERADD = '/usr/sbin/useradd';
const USERDEL = '/usr/sbin/userdel';
const GROUPDEL = '/usr/sbin/groupdel';
const SETPRIV = '/usr/bin/setpriv';

/** Why the tests that switch users cannot run here, or undefined when they can. */
export function systemUserUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root, to create a system user and run commands as it';
  const missing = [USERADD, USERDEL, SETPRIV].filter((file) => !existsSync(file));
  if (missing.length > 0) return `needs ${missing.join(', ')} (Debian packages passwd and util-linux)`;
  return undefined;
}

/**
 * A system user with a group of its own name, no home and no login shell, in no other group: created
 * unless it exists (a run that crashed may have left it; useradd waits for a concurrent change to
 * /etc/passwd by itself).
 */
export function ensureSystemUser(name: string): SystemUser {
  const existing = lookUp(name);
  if (existing) return existing;
  const result = spawnSync(USERADD, ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], {
    encoding: 'utf8',
  });
  // 9: it exists after all (created meanwhile by another run).
  if (result.status !== 0 && result.status !== 9) throw new Error(`useradd ${name} failed (exit ${result.status}): ${result.stderr}`);
  const created = lookUp(name);
  if (!created) throw new Error(`useradd ${name} succeeded, but id does not know ${name}`);
  return created;
}

/** Removes the user and its group; a user already gone is fine. */
export function removeSystemUser(name: string): void {
  if (lookUp(name)) {
    const result = spawnSync(USERDEL, [name], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`userdel ${name} failed (exit ${result.status}): ${result.stderr}`);
  }
  // userdel removes the user's own group when nothing else uses it; otherwise it is removed here.
  if (spawnSync('getent', ['group', name]).status === 0) spawnSync(GROUPDEL, [name]);
}

function lookUp(name: string): SystemUser | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * The prefix that runs a command as `user` with CAP_DAC_READ_SEARCH and nothing else: README
 * "Permissions" word for word (there for the scheduler's user), and what config/xbackup-scheduler.service
 * gives `run` (User=, Group=, AmbientCapabilities=, CapabilityBoundingSet=, NoNewPrivileges=).
 */
export function asScheduler(user: string): string[] {
  return [
    SETPRIV,
    `--reuid=${user}`,
    `--regid=${user}`,
    '--init-groups',
    '--inh-caps=-all,+dac_read_search',
    '--ambient-caps=-all,+dac_read_search',
    '--bounding-set=-all,+dac_read_search',
    '--no-new-privs',
    '--',
  ];
}

/**
 * The first folder on the way to `path` that a user in no group of its owner cannot pass, or undefined.
 * CAP_DAC_READ_SEARCH does not help there: access(2), which node's module loader and better-sqlite3's
 * `bindings` use to find the addon, checks the real uid without capabilities. So a checkout under a
 * 0700 folder cannot be run by the scheduler's user, as an install there could not be.
 */
export function folderClosedToOthers(path: string): string | undefined {
  const folders: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    folders.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  return folders.find((dir) => (statSync(dir).mode & 0o001) === 0);
}
