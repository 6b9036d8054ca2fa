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
 * The file's fingerprint now; undefined when it cannot be stat'ed (gone, or a folder on its way refuses
 * this process): whatever reads it next says why. A missing file is an answer, not an exception to build.
 */
export function fingerprintOf(file: string): FileFingerprint | undefined {
  try {
    const st = statSync(file, { throwIfNoEntry: false });
    return st && fingerprintOfStats(st);
  } catch {
    return undefined;
  }
}

/** A file without a fingerprint is never the same as one with. Takes Stats as well: they carry the same fields. */
export function sameFingerprint(a: FileFingerprint, b: FileFingerprint | undefined): boolean {
  return b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** Whether `file` still has the fingerprint it had. */
export const stillHolds = (file: string, was: FileFingerprint): boolean => sameFingerprint(was, fingerprintOf(file));

/** Whether both files of a backup still have their fingerprints; the data file is stat'ed only when the index held. */
export const backupStillHolds = (indexFile: string, dataFile: string, was: BackupFingerprint): boolean =>
  stillHolds(indexFile, was.index) && stillHolds(dataFile, was.data);

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

function writeFile(numbers: Float64Array, at: number, fingerprint: FileFingerprint | undefined): void {
  numbers[at] = fingerprint ? fingerprint.ino : Number.NaN;
  numbers[at + 1] = fingerprint?.size ?? 0;
  numbers[at + 2] = fingerprint?.mtimeMs ?? 0;
}

function readFile(numbers: Float64Array, at: number): FileFingerprint | undefined {
  const ino = numbers[at]!;
  return Number.isNaN(ino) ? undefined : { ino, size: numbers[at + 1]!, mtimeMs: numbers[at + 2]! };
}
