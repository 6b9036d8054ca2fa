import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

/**
 * `ctl_backups -C <conf> compact <userid>...` after a first-backup group (bootstrap.compactAfter):
 * Cyrus's own tool, which takes each backup's lock, so it never races backupd.
 */
export function compactBackups(ctlBackups: string, imapdConf: string, userids: readonly string[], logger: Logger): Promise<void> {
  if (userids.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    execFile(ctlBackups, ['-C', imapdConf, 'compact', ...userids], { timeout: 3_600_000 }, (err, _stdout, stderr) => {
      if (err) logger.warn({ userids, error: `${err.message} ${stderr}`.trim() }, 'ctl_backups compact failed');
      else logger.info({ userids }, 'compacted the group\'s backups');
      resolve();
    });
  });
}
