import { statSync } from 'node:fs';
import { BackupIndexError } from './index-error.js';
import { indexFileOf, readBackupIndex, type BackupIndexSummary } from './index-reader.js';
import type { IndexFingerprint } from './scan-cache.js';

/** One index as a scan reads it: its fingerprint, then its summary or why it could not be read. */
export type IndexRead =
  | { fingerprint: IndexFingerprint | undefined; summary: BackupIndexSummary; error: null }
  | { fingerprint: IndexFingerprint | undefined; summary: null; error: BackupIndexError };

/**
 * The fingerprint is taken before the read: a write in between makes the next scan see a new
 * fingerprint and read again, never keep a summary older than its fingerprint.
 */
export function readIndexOf(dataFile: string): IndexRead {
  const fingerprint = fingerprintOf(indexFileOf(dataFile));
  try {
    return { fingerprint, summary: readBackupIndex(dataFile), error: null };
  } catch (err) {
    if (!(err instanceof BackupIndexError)) throw err;
    return { fingerprint, summary: null, error: err };
  }
}

/** Undefined when the file cannot even be stat'ed: the read that follows says why. */
export function fingerprintOf(file: string): IndexFingerprint | undefined {
  try {
    const st = statSync(file);
    return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}
