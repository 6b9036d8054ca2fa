// What a report says of a damaged backup: Cyrus's finding, and what an admin does about it.
import { isoTime } from '../units/time.js';
import type { DeepVerify } from './user-history.js';

/** `ctl_backups verify` at <time> found: <damage>. Then the way out (docs/maintenance.md, "A damaged backup"). */
export function damagedText(userid: string, deep: DeepVerify): string {
  return (
    `ctl_backups verify at ${isoTime(deep.at)} found: ${deep.damage}. ` +
    `What was backed up since is kept, but the damaged part cannot be restored: move this backup aside so that the next XBACKUP starts a new one ` +
    `(docs/maintenance.md, "A damaged backup"; userid ${JSON.stringify(userid)}); the next verification then clears this state`
  );
}
