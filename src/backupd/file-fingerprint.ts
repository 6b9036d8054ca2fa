import { statSync, type Stats } from 'node:fs';

/**
 * "Has this file changed": a file whose inode, size and mtime all held was not rewritten. Every reader of
 * backupd's files asks it this way (backups.db, each index and data file); a caller that asks more says why.
 */
export interface FileFingerprint {
  ino: number;
  size: number;
  mtimeMs: number;
}

/** A backup is its index and its data file: a summary holds while neither moved. */
export interface BackupFingerprint {
  index: FileFingerprint;
  data: FileFingerprint;
}

/** The fingerprint in a stat(2) or fstat(2) result. */
export const fingerprintOfStats = (st: Stats): FileFingerprint => ({ ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });

/**
 * The file as stat(2) sees it now; undefined when it cannot be stat'ed (gone, or a folder on its way
 * refuses this process): whatever reads it next says why. A missing file is an answer, not an exception to build.
 */
function statOf(file: string): Stats | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

export function fingerprintOf(file: string): FileFingerprint | undefined {
  const st = statOf(file);
  return st && fingerprintOfStats(st);
}

/** The comparison every check makes. A file without a fingerprint (undefined) has changed; Stats serve as a fingerprint. */
function holds(now: FileFingerprint | undefined, ino: number, size: number, mtimeMs: number): boolean {
  return now !== undefined && now.ino === ino && now.size === size && now.mtimeMs === mtimeMs;
}

export const sameFingerprint = (was: FileFingerprint, now: FileFingerprint | undefined): boolean => holds(now, was.ino, was.size, was.mtimeMs);

/**
 * A backup's fingerprint in shared memory, for the scan's threads: the index's ino, size and mtimeMs, then
 * the data file's, as the doubles Stats gave them; a NaN ino where there is none.
 */
export const BACKUP_FINGERPRINT_NUMBERS = 6;
const DATA_AT = 3;

export function writeBackupFingerprint(numbers: Float64Array, at: number, fingerprint: BackupFingerprint | undefined): void {
  writeFile(numbers, at, fingerprint?.index);
  writeFile(numbers, at + DATA_AT, fingerprint?.data);
}

export function readBackupFingerprint(numbers: Float64Array, at: number): BackupFingerprint | undefined {
  const index = readFile(numbers, at);
  const data = readFile(numbers, at + DATA_AT);
  return index && data && { index, data };
}

/**
 * Whether both files of the backup whose fingerprint was written at `at` still have theirs: never without
 * one, and the data file is stat'ed only when the index held. Read in place: a scan asks it of every
 * backup, where an object for each fingerprint would cost it a few percent.
 */
export function backupStillHoldsAt(indexFile: string, dataFile: string, numbers: Float64Array, at: number): boolean {
  return !Number.isNaN(numbers[at]!) && fileHoldsAt(indexFile, numbers, at) && fileHoldsAt(dataFile, numbers, at + DATA_AT);
}

const fileHoldsAt = (file: string, numbers: Float64Array, at: number): boolean => holds(statOf(file), numbers[at]!, numbers[at + 1]!, numbers[at + 2]!);

function writeFile(numbers: Float64Array, at: number, fingerprint: FileFingerprint | undefined): void {
  numbers[at] = fingerprint ? fingerprint.ino : Number.NaN;
  numbers[at + 1] = fingerprint?.size ?? 0;
  numbers[at + 2] = fingerprint?.mtimeMs ?? 0;
}

function readFile(numbers: Float64Array, at: number): FileFingerprint | undefined {
  const ino = numbers[at]!;
  return Number.isNaN(ino) ? undefined : { ino, size: numbers[at + 1]!, mtimeMs: numbers[at + 2]! };
}
