import type { Logger } from 'pino';
import { outcomeText, runCyrusTool, type CyrusToolCommand } from './maintenance/cyrus-tool.js';

/**
 * `ctl_backups compact <userid>...` after a first-backup group (bootstrap.compactAfter), through the one
 * runner of Cyrus's tools (maintenance/cyrus-tool.ts), and so through maintenance.command when it is set:
 * Cyrus's own tool, which takes each backup's lock, so it never races backupd. `skipped` (nothing to
 * compact, as is usual right after a first backup) is not a failure.
 */
export async function compactBackups(tool: CyrusToolCommand, userids: readonly string[], logger: Logger): Promise<void> {
  if (userids.length === 0) return;
  const run = await runCyrusTool(tool, 'compact', userids);
  // An `ok` with Cyrus's `error reading chunk …` before it dropped what it could not read: no success.
  const failed = run.outcomes.filter((o) => (o.status !== 'ok' && o.status !== 'skipped') || o.detail !== undefined);
  if (run.problem === undefined && failed.length === 0) {
    logger.info({ compacted: run.outcomes.filter((o) => o.status === 'ok').length, skipped: run.outcomes.filter((o) => o.status === 'skipped').length }, "compacted the group's backups");
  } else {
    logger.warn(
      { userids, failed: failed.map((o) => `${o.userid}: ${outcomeText(o)}`), error: [run.problem, run.stderr].filter(Boolean).join(' ') },
      'ctl_backups compact failed',
    );
  }
}
