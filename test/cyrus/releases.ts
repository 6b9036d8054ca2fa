// The Cyrus releases the test bed runs, and the release matrix `npm test` runs the compatibility files
// against. A new release is one line in CYRUS_RELEASES (and, to test it, one line in RELEASE_MATRIX);
// scripts/cyrus-roots.sh builds the Debian root of every release that has a suite here.
import fs from 'node:fs';
import path from 'node:path';

export interface CyrusRelease {
  /** The Debian suite whose root holds it; undefined: the host's own packages. */
  readonly debianSuite: string | undefined;
  /** backupd and XBACKUP exist (3.0–3.10); 3.12 removed both. */
  readonly hasBackupd: boolean;
}

export const CYRUS_RELEASES = {
  '3.6': { debianSuite: undefined, hasBackupd: true }, // Debian 12 (bookworm), the host
  '3.10': { debianSuite: 'trixie', hasBackupd: true }, // Debian 13: the last release with backupd
  '3.12': { debianSuite: 'sid', hasBackupd: false }, // backupd and XBACKUP removed
} as const satisfies Record<string, CyrusRelease>;

export type ReleaseName = keyof typeof CYRUS_RELEASES;

/** The IMAP servers' release and backupd's: real upgrades go one server at a time. */
export interface ReleasePair {
  readonly imap: ReleaseName;
  readonly backup: ReleaseName;
}

/**
 * Beside the default run (the host's 3.6), `npm test` runs COMPATIBILITY_FILES once per pair here.
 * A 3.12 IMAP server has its own file (test/integration/release-3.12.test.ts): most of these would
 * only confirm, many times over, that it has no XBACKUP.
 */
export const RELEASE_MATRIX: readonly ReleasePair[] = [
  { imap: '3.10', backup: '3.10' },
  { imap: '3.10', backup: '3.6' },
];

/** What matters for compatibility: discovery, backup, bootstrap, report against ctl_backups, verification, check, the comparison with the live mailboxes, maintenance. */
export const COMPATIBILITY_FILES = [
  'integration/naming.test.js',
  'integration/backup-command.test.js',
  'integration/bootstrap.test.js',
  'integration/report.test.js',
  'integration/failure-modes.test.js',
  'integration/wrong-answers.test.js',
  'integration/in-sync.test.js',
  'imap/xbackup.integration.test.js',
  // The maintenance lane runs the backupd release's own ctl_backups: its output, its damage and its cure.
  'integration/maintenance.test.js',
  'scheduler/maintenance/cyrus-tool.integration.test.js',
  'scheduler/maintenance/cyrus-damage.integration.test.js',
] as const;

/** The environment variable that sets a test bed's default releases: `3.10`, or `3.10/3.6` (IMAP/backupd). */
export const RELEASE_ENV = 'XBS_CYRUS_RELEASE';

export const HOST_RELEASE: ReleaseName = '3.6';

/** Where scripts/cyrus-roots.sh builds the roots (the same default and variable). */
export function rootsDir(): string {
  return process.env.XBACKUP_CYRUS_ROOTS ?? '/var/cache/xbackup-scheduler/roots';
}

/** The marker the script writes last: a root without it is not complete. */
const COMPLETE_MARKER = '.xbackup-root-complete';

/** The release's root, or undefined for the host's; throws, saying how to build it, when it is missing. */
export function releaseRoot(release: ReleaseName): string | undefined {
  const suite = CYRUS_RELEASES[release].debianSuite;
  if (suite === undefined) return undefined;
  const root = path.join(rootsDir(), suite);
  if (!fs.existsSync(path.join(root, COMPLETE_MARKER))) {
    throw new Error(`Cyrus ${release} needs the Debian ${suite} root at ${root}: build it with scripts/cyrus-roots.sh ${suite} (as root)`);
  }
  return root;
}

/** Why a release cannot run here, or undefined when it can (for a test's `skip`). */
export function releaseMissing(release: ReleaseName): string | undefined {
  try {
    releaseRoot(release);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function isReleaseName(name: string): name is ReleaseName {
  return Object.hasOwn(CYRUS_RELEASES, name);
}

/** `3.10` or `3.10/3.6` as a pair; undefined when unset. */
export function parseReleasePair(text: string | undefined): ReleasePair | undefined {
  if (text === undefined || text === '') return undefined;
  const [imap, backup = imap, extra] = text.split('/');
  if (extra !== undefined || !isReleaseName(imap!) || !isReleaseName(backup)) {
    const known = Object.keys(CYRUS_RELEASES).join(', ');
    throw new Error(`${RELEASE_ENV}=${text}: expected a release or IMAP/backupd releases, each one of ${known}`);
  }
  return { imap: imap as ReleaseName, backup };
}

export function pairName(pair: ReleasePair): string {
  return pair.imap === pair.backup ? pair.imap : `${pair.imap}/${pair.backup}`;
}
