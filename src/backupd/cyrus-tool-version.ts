import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';

export type CyrusToolVersion = { command: string; version: string } | { command: string; error: string };

/**
 * The version of the Cyrus installed on this backup server, from `cyr_info version` beside ctl_backups:
 * it only prints the version (`cyrus-imapd 3.6.1-Debian-…`), reading nothing but imapd.conf.
 */
export function cyrusToolVersion(ctlBackups: string, imapdConf: string): Promise<CyrusToolVersion> {
  const command = join(dirname(ctlBackups), 'cyr_info');
  return new Promise((resolve) => {
    execFile(command, ['-C', imapdConf, 'version'], { timeout: 10_000 }, (err, stdout, stderr) => {
      const version = stdout.trim();
      if (err || version === '') resolve({ command, error: (stderr.trim() || (err as NodeJS.ErrnoException | null)?.code?.toString() || err?.message) ?? 'printed nothing' });
      else resolve({ command, version });
    });
  });
}
