import { releaseRoot } from '../cyrus/releases.js';
import type { CyrusTestBed } from '../cyrus/testbed.js';

/** Where Debian's Cyrus puts ctl_backups, in the host and in a release's Debian root alike. */
export const CTL_BACKUPS = '/usr/lib/cyrus/bin/ctl_backups';

/**
 * maintenance.command for the bed: the bed's cyrus user, as an admin's prefix would make it. runuser for
 * the host's Cyrus (the bed runs as root); chroot --userspec for a release in a Debian root, whose cyrus
 * has another uid.
 */
export function maintenancePrefix(bed: CyrusTestBed): string[] {
  const root = releaseRoot(bed.releases.backup);
  return root === undefined ? ['/usr/sbin/runuser', '-u', 'cyrus', '--'] : ['/usr/sbin/chroot', `--userspec=${bed.backupAccount.uid}:${bed.backupAccount.gid}`, root];
}
