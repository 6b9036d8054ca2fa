/** The userid of a result about a whole server (one that could not be asked for its users). */
export const ALL_USERS = '*';

export type BackupOutcome = 'ok' | 'no' | 'unverified' | 'error';

/** One user's finished attempt, as `backup --json` and `bootstrap --json` print it (spec §3.1). */
export interface BackupResult {
  userid: string;
  server: string;
  outcome: BackupOutcome;
  startedAt: number;
  seconds: number;
  error: string | null;
  inDoubt: boolean;
  locked: boolean;
  group: number | null;
  /** For a verified backup: the end of the chunk it produced (ms), which history keeps as lastVerified. */
  verifiedBackupAt: number | null;
}
