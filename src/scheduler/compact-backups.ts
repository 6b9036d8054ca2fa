import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

/**
 * `ctl_backups -C <conf> -- compact <userid>...` after a first-backup group (bootstrap.compactAfter):
 * Cyrus's own tool, which takes each backup's lock, so it never races backupd. It prints
 * `compact <userid>: ok|skipped|<error>` per backup and exits 75 when any was skipped (nothing to
 * compact, as is usual right after a first backup), which is not a failure.
 * ctl_backups reads options with glibc's getopt, which also takes them after the command word: a userid
 * `-A` would compact every backup on the server. `--` ends the options; before the command word it
 * does so whether or not POSIXLY_CORRECT is set (with it, getopt stops at `compact` and a `--` after it
 * would be taken for a userid).
 */
export function compactBackups(ctlBackups: string, imapdConf: string, userids: readonly string[], logger: Logger): Promise<void> {
  if (userids.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    execFile(ctlBackups, ['-C', imapdConf, '--', 'compact', ...userids], { timeout: 3_600_000 }, (err, stdout, stderr) => {
      const lines = stdout.split('\n').filter((l) => l.startsWith('compact '));
      const failed = lines.filter((l) => !/: (ok|skipped)$/.test(l));
      if (lines.length === userids.length && failed.length === 0) {
        logger.info({ compacted: lines.filter((l) => l.endsWith(': ok')).length, skipped: lines.filter((l) => l.endsWith(': skipped')).length }, "compacted the group's backups");
      } else {
        logger.warn({ userids, failed, error: `${err?.message ?? ''} ${stderr}`.trim() }, 'ctl_backups compact failed');
      }
      resolve();
    });
  });
}
