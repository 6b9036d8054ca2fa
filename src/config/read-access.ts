import { readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve, sep } from 'node:path';

/**
 * What to do when the scheduler cannot read one of backupd's files. Group read or ACLs cannot be the
 * answer: backupd creates every new data file with mkstemp(), mode 0600 whatever its umask or a default
 * ACL says, and twoskip replaces backups.db with a new file when it repacks. README "Permissions".
 */
export const READ_ACCESS_FIX =
  "give the scheduler's user CAP_DAC_READ_SEARCH (systemd: AmbientCapabilities=CAP_DAC_READ_SEARCH, as config/xbackup-scheduler.service does; " +
  'a command run by hand: the setpriv line in README "Permissions"). Group read or ACLs do not last: backupd creates each new data file mode 0600';

/** EACCES, or EPERM (which a security module or an immutable file answers): the file is there, this process may not read it. */
export function isAccessDenied(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/**
 * Which path refused this process, for a message that starts with `file`: a directory on the way that
 * it may not search, or the file itself. Called after an EACCES; stats each step of the path as this
 * process (not access(2), which would judge by the real uid and ignore capabilities).
 */
export function whereDenied(file: string): string {
  const path = resolve(file);
  const steps = path.split(sep).filter((part) => part !== '');
  let reached: string = sep;
  for (const step of steps) {
    const next = reached === sep ? `${sep}${step}` : `${reached}${sep}${step}`;
    try {
      statSync(next);
    } catch (err) {
      // Only a refusal says which directory is at fault; anything else (ENOENT) is not a permission problem on the way.
      if (isAccessDenied(err)) return `the directory ${reached} ${ownerAndMode(reached)} on its path is not searchable by ${thisProcess()}`;
      break;
    }
    reached = next;
  }
  return `it ${ownerAndMode(path)} is not readable by ${thisProcess()}`;
}

/** `(owner cyrus:mail, mode 0700)`, or nothing when even that cannot be read. */
function ownerAndMode(path: string): string {
  try {
    const st = statSync(path);
    return `(owner ${userName(st.uid)}:${groupName(st.gid)}, mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  } catch {
    return '';
  }
}

function thisProcess(): string {
  const uid = process.geteuid?.();
  if (uid === undefined) return 'this process';
  try {
    return `uid ${uid} (${userInfo().username})`;
  } catch {
    return `uid ${uid}`;
  }
}

function userName(uid: number): string {
  return nameIn('/etc/passwd', uid) ?? String(uid);
}

function groupName(gid: number): string {
  return nameIn('/etc/group', gid) ?? String(gid);
}

/** The name with this id in /etc/passwd or /etc/group (name:x:id:...). */
function nameIn(file: string, id: number): string | undefined {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields.length > 2 && Number(fields[2]) === id && fields[2] !== '') return fields[0];
    }
  } catch {
    // no such file: numbers will do
  }
  return undefined;
}

/** CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: either lets a process read any file (linux/capability.h). */
const CAP_DAC_OVERRIDE = 1n;
const CAP_DAC_READ_SEARCH = 2n;

export interface ReadAccessVerdict {
  /** It reads every file backupd creates, now and later. */
  lasting: boolean;
  /** Root or cyrus: Cyrus's own tools (ctl_backups) work for it. */
  cyrusTools: boolean;
  detail: string;
}

/**
 * Whether this process can read backupd's files however backupd creates them: as root, as their owner
 * (cyrus), or with CAP_DAC_READ_SEARCH. Otherwise any access it has now comes from group or ACL grants
 * that the next new user's data file (mode 0600) will not have. `ownedByCyrus` is a file or directory
 * backupd owns (its configdirectory). Undefined where this cannot be told (no uids, no /proc).
 */
export function readAccessOfThisProcess(ownedByCyrus: string): ReadAccessVerdict | undefined {
  const uid = process.geteuid?.();
  if (uid === undefined) return undefined;
  if (uid === 0) return { lasting: true, cyrusTools: true, detail: 'runs as root, which reads every file; it needs no more than CAP_DAC_READ_SEARCH (README "Permissions")' };
  let owner: number | undefined;
  try {
    owner = statSync(ownedByCyrus).uid;
  } catch {
    owner = undefined;
  }
  if (owner === uid) return { lasting: true, cyrusTools: true, detail: `runs as ${thisProcess()}, the owner of ${ownedByCyrus}, which owns every file backupd creates` };
  const capabilities = effectiveCapabilities();
  if (capabilities === undefined) return undefined;
  if ((capabilities >> CAP_DAC_READ_SEARCH) & 1n || (capabilities >> CAP_DAC_OVERRIDE) & 1n) {
    return { lasting: true, cyrusTools: false, detail: `${thisProcess()} with CAP_DAC_READ_SEARCH: reads backupd's files whatever their mode` };
  }
  return {
    lasting: false,
    cyrusTools: false,
    detail:
      `${thisProcess()} has neither CAP_DAC_READ_SEARCH nor backupd's own uid, so it reads backupd's files only through group or ACL grants, ` +
      `which the next new user's data file will not have (backupd creates it mode 0600): its first backup would come out unverified; ${READ_ACCESS_FIX}`,
  };
}

/** The effective capability set of this process, from /proc (Linux); undefined elsewhere. */
function effectiveCapabilities(): bigint | undefined {
  try {
    const line = readFileSync('/proc/self/status', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('CapEff:'));
    return line === undefined ? undefined : BigInt(`0x${line.slice('CapEff:'.length).trim()}`);
  } catch {
    return undefined;
  }
}
