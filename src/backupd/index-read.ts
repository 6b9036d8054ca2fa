import { statSync } from 'node:fs';
import { readChunkTableFromPages } from './chunk-table-from-pages.js';
import { BackupIndexError } from './index-error.js';
import { indexFileOf, readBackupIndex, type BackupIndexSummary } from './index-reader.js';
import type { IndexFingerprint } from './scan-cache.js';
import { NotPlainPages } from './sqlite-file/not-plain-pages.js';

/**
 * One index as a scan reads it: its fingerprint, then its summary or why it could not be read, and
 * whether SQLite had to read it (its pages were not settled, or not plain: see readChunkTableFromPages).
 */
export type IndexRead = { fingerprint: IndexFingerprint | undefined; bySqlite: boolean } & (
  | { summary: BackupIndexSummary; error: null }
  | { summary: null; error: BackupIndexError }
);

/**
 * The fingerprint is taken before the read: a write in between makes the next scan see a new
 * fingerprint and read again, never keep a summary older than its fingerprint. A read of the pages
 * takes it from the descriptor it reads; SQLite's read is preceded by a stat.
 */
export function readIndexOf(dataFile: string): IndexRead {
  const indexFile = indexFileOf(dataFile);
  const pages = readChunkTableFromPages(indexFile);
  const bySqlite = pages instanceof NotPlainPages;
  const fingerprint = bySqlite ? fingerprintOf(indexFile) : pages.fingerprint;
  try {
    return { fingerprint, bySqlite, summary: readBackupIndex(dataFile, { pages }), error: null };
  } catch (err) {
    if (!(err instanceof BackupIndexError)) throw err;
    return { fingerprint, bySqlite, summary: null, error: err };
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
