/** The userid of a result about a whole server (one that could not be asked for its users). */
export const ALL_USERS = '*';

export type BackupOutcome = 'ok' | 'no' | 'unverified' | 'error';

/** A user's backup index at one moment, as much as a backup is judged by. */
export interface ChunkMark {
  /** The newest chunk's id; 0 when there is none (Cyrus numbers chunks from 1). */
  chunkId: number;
  /** That chunk's end (ms), null without one. */
  lastBackup: number | null;
  /** The data file's size, null without one. */
  dataBytes: number | null;
}

export const NO_CHUNK: ChunkMark = { chunkId: 0, lastBackup: null, dataBytes: null };

/** One user's finished attempt, as `backup --json` and `bootstrap --json` print it (spec §3.1). */
export interface BackupResult {
  userid: string;
  server: string;
  outcome: BackupOutcome;
  startedAt: number;
  seconds: number;
  error: string | null;
  inDoubt: boolean;
  /** In doubt after a dropped connection: a chunk that follows may be a part (see UserOutcome). */
  connectionDropped: boolean;
  locked: boolean;
  group: number | null;
  /** For a verified backup: when the chunk it produced ended (ms), which history keeps as lastVerified. */
  verifiedBackupAt: number | null;
  /** The XBACKUP pattern that went out for this user; null when nothing was sent. */
  pattern: string | null;
  /** The index before the command and after it (null when the command never reached the server). */
  chunks: { before: ChunkMark; after: ChunkMark | null } | null;
}

/**
 * The log level of a finished attempt: a failure is a warning (the user is retried with backoff; a user
 * that keeps failing is logged as an error when it turns `failing`); a success, or a locked mailbox (waited
 * out, not counted as a failure), is info.
 */
export const attemptLogLevel = (r: Pick<BackupResult, 'outcome' | 'locked'>): 'info' | 'warn' => (r.outcome === 'ok' || r.locked ? 'info' : 'warn');
