import { READ_ACCESS_FIX } from '../../config/read-access.js';
import type { CyrusDbBackend } from './types.js';

export type CyrusDbErrorCode =
  | 'EMPTY_FILE'
  | 'TRUNCATED'
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'HEADER_CRC'
  | 'RECORD_HEAD_CRC'
  | 'RECORD_TAIL_CRC'
  | 'BAD_RECORD'
  | 'BAD_ORDER'
  /** A skiplist pointer that does not fit the records (Cyrus rewrites pointers in place, so a writer can cause it). */
  | 'BAD_POINTER'
  | 'COUNT_MISMATCH'
  | 'BAD_HEADER'
  | 'BAD_LINE'
  /** This process may not read the file, or search a directory on its path (EACCES, EPERM). */
  | 'NO_ACCESS'
  | 'UNREADABLE';

/**
 * Codes a live Cyrus writer can cause in a lock-free read (file being created,
 * header, record heads or skiplist pointers rewritten while we read). The others come from damage.
 */
const CAN_BE_TRANSIENT: ReadonlySet<CyrusDbErrorCode> = new Set<CyrusDbErrorCode>([
  'EMPTY_FILE',
  'TRUNCATED',
  'BAD_MAGIC',
  'HEADER_CRC',
  'RECORD_HEAD_CRC',
  'BAD_RECORD',
  'BAD_POINTER',
]);

export interface CyrusDbErrorDetails {
  /** Byte offset in the file where the problem was found. */
  offset?: number;
  /** Backend the file was read as; used to suggest the right cyr_dbtool command. */
  backend?: CyrusDbBackend;
  /** Set when the error survived this many lock-free reads of the file. */
  attempts?: number;
  /** Replaces the generic "what to do" sentence. */
  advice?: string;
  cause?: unknown;
}

/** A Cyrus database file could not be read or does not hold a valid database. */
export class CyrusDbError extends Error {
  override readonly name = 'CyrusDbError';
  readonly code: CyrusDbErrorCode;
  readonly file: string;
  /** What is wrong, without file name and advice. */
  readonly problem: string;
  readonly offset?: number;
  readonly backend?: CyrusDbBackend;
  readonly attempts?: number;
  private readonly details: CyrusDbErrorDetails;

  constructor(code: CyrusDbErrorCode, file: string, problem: string, details: CyrusDbErrorDetails = {}) {
    super(composeMessage(code, file, problem, details), { cause: details.cause });
    this.code = code;
    this.file = file;
    this.problem = problem;
    this.offset = details.offset;
    this.backend = details.backend;
    this.attempts = details.attempts;
    this.details = details;
  }

  /** The same error, worded for a caller that has given up after `attempts` reads. */
  afterAttempts(attempts: number): CyrusDbError {
    return new CyrusDbError(this.code, this.file, this.problem, { ...this.details, attempts });
  }
}

function composeMessage(code: CyrusDbErrorCode, file: string, problem: string, details: CyrusDbErrorDetails): string {
  const facts = [
    ...(details.offset === undefined ? [] : [`byte offset ${details.offset}`]),
    ...(details.attempts === undefined ? [] : [`given up after ${details.attempts} reads`]),
  ];
  const context = facts.length === 0 ? '' : ` (${facts.join('; ')})`;
  return `${file}: ${problem}${context} [${code}]. ${details.advice ?? defaultAdvice(code, file, details)}`;
}

function defaultAdvice(code: CyrusDbErrorCode, file: string, details: CyrusDbErrorDetails): string {
  if (code === 'NO_ACCESS') return `${READ_ACCESS_FIX.charAt(0).toUpperCase()}${READ_ACCESS_FIX.slice(1)}.`;
  if (code === 'UNREADABLE') return 'Check the path (backup_db_path, or configdirectory, in the backup server\'s imapd.conf).';
  if (code === 'EMPTY_FILE' && details.attempts !== undefined) {
    return 'Cyrus has created the file but not yet written the empty database into it; if no backup ever ran, this means no entries.';
  }
  const inspect =
    `Cyrus's own \`cyr_dbtool <copy of ${basename(file)}> ${details.backend ?? '<backend>'} consistent\`, ` +
    'run on a COPY, tells more (never run it on the live file: cyr_dbtool repairs what it opens).';
  if (details.attempts === undefined && CAN_BE_TRANSIENT.has(code)) {
    return `Is a Cyrus process (backupd) writing it right now? Then this is transient and the read will be retried; if it persists, the file is damaged. ${inspect}`;
  }
  return `The file is damaged. ${inspect}`;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
