// What a report says of a damaged backup: Cyrus's finding, and what an admin does about it.
import { isoTime } from '../units/time.js';
import type { DeepVerify } from './user-history.js';

/** Where the finding ends and the way out begins. */
const WAY_OUT = '. What was backed up since is kept';

/** `ctl_backups verify` at <time> found: <damage>. Then the way out (docs/maintenance.md, "A damaged backup"). */
export function damagedText(userid: string, deep: DeepVerify): string {
  return (
    `ctl_backups verify at ${isoTime(deep.at)} found: ${deep.damage}${WAY_OUT}, but the damaged part cannot be restored: move this backup aside so that the next XBACKUP starts a new one ` +
    `(docs/maintenance.md, "A damaged backup"; userid ${JSON.stringify(userid)}); the next verification then clears this state`
  );
}

/** The finding alone of a damagedText (`ctl_backups verify at … found: …`), for a one-line output such as the Nagios check. */
export function damagedFinding(text: string): string {
  const end = text.lastIndexOf(WAY_OUT);
  return end === -1 ? text : text.slice(0, end);
}
