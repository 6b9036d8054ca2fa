// A scan's read of one backup: backup-summary.ts's summary, with the fingerprint that lets the next scan
// skip it, and whether SQLite had to read it.
import { indexPages, readBackup, type BackupIndexSummary } from './backup-summary.js';
import { fingerprintOf, type BackupFingerprint } from './file-fingerprint.js';
import { BackupIndexError } from './index-error.js';
import { indexFileOf } from './index-file.js';
import { NotPlainPages } from './sqlite-file/not-plain-pages.js';

/**
 * One backup as a scan reads it: its summary and the fingerprint it holds for, or why it could not be
 * read; and whether SQLite had to read the index (its pages were not settled, or not plain: see
 * readIndexPages; or the page reader is turned off).
 */
export type IndexRead = { bySqlite: boolean } & (
  | { summary: BackupIndexSummary; fingerprint: BackupFingerprint | undefined; error: null }
  | { summary: null; fingerprint: undefined; error: BackupIndexError }
);

/**
 * Each file's fingerprint is taken before that file is read: a write in between makes the next scan see
 * a new fingerprint and read again, never keep a summary older than its fingerprint. A read of the pages
 * takes the index's from the descriptor it reads, SQLite's read is preceded by a stat; the data file's is
 * taken from the descriptor its check reads. `pageReader` false (backupd.pageReader): SQLite reads the index.
 */
export function readIndexOf(dataFile: string, pageReader = true): IndexRead {
  const indexFile = indexFileOf(dataFile);
  const pages = indexPages(indexFile, pageReader);
  const bySqlite = pages instanceof NotPlainPages;
  const index = bySqlite ? fingerprintOf(indexFile) : pages.fingerprint;
  try {
    const { summary, data } = readBackup(dataFile, pages);
    return { bySqlite, summary, fingerprint: index && { index, data }, error: null };
  } catch (err) {
    if (!(err instanceof BackupIndexError)) throw err;
    return { bySqlite, summary: null, fingerprint: undefined, error: err };
  }
}
