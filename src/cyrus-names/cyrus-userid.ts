import { decodeModifiedUtf7, ModifiedUtf7Error } from './modified-utf7.js';

/** The backups.db key under which backupd keeps every shared mailbox (of every domain): one backup for them all. */
export const SHARED_BACKUP_KEY = '%SHARED';

/**
 * A userid as Cyrus spells it in backups.db keys and `* OK USER` lines (`jos&AOk-`, `a&-b`) turned into
 * the userid itself (`josé`, `a&b`), which is how the tool holds every userid. A spelling that is not
 * valid modified UTF-7 (Cyrus never writes one) is kept as it is, so the user still shows up.
 */
export function useridFromCyrus(spelled: string): string {
  try {
    return decodeModifiedUtf7(spelled);
  } catch (err) {
    if (err instanceof ModifiedUtf7Error) return spelled;
    throw err;
  }
}
