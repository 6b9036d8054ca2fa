// What a report says of a damaged backup: Cyrus's finding, and what an admin does about it.
import { isoTime } from '../units/time.js';
import type { DeepVerify } from './user-history.js';

/** Where the finding ends and the way out begins. */
const WAY_OUT = '. Start a fresh backup';

/**
 * `ctl_backups verify` at <time> found: <damage>. Then the way out, as found on Cyrus 3.6
 * (docs/cyrus-facts-maintenance.md, "What clears a damaged backup"; docs/maintenance.md, "A damaged backup").
 */
export function damagedText(userid: string, deep: DeepVerify): string {
  return (
    `ctl_backups verify at ${isoTime(deep.at)} found: ${deep.damage}${WAY_OUT}: as cyrus, move its data file and .index aside (to keep what can be read), then ` +
    `\`cyr_dbtool -C <backupd's imapd.conf> <configdirectory>/backups.db twoskip delete ${JSON.stringify(userid)}\`; the next XBACKUP writes a whole new backup to a new file, ` +
    'and its verification clears this state. Until then new mail may not reach it: backupd refuses a backup whose last chunk is damaged (reindex is no cure: docs/maintenance.md)'
  );
}

/** The finding alone of a damagedText (`ctl_backups verify at … found: …`), for a one-line output such as the Nagios check. */
export function damagedFinding(text: string): string {
  const end = text.lastIndexOf(WAY_OUT);
  return end === -1 ? text : text.slice(0, end);
}
