import { statSync } from 'node:fs';
import type { BackupServerPaths } from '../config/backup-server.js';
import { useridFromCyrus } from '../cyrus-names/cyrus-userid.js';
import { CyrusDbError } from './cyrusdb/errors.js';
import { readCyrusDb } from './cyrusdb/snapshot.js';
import type { CyrusDbEntry } from './cyrusdb/types.js';
import { indexFileOf } from './index-file.js';
import { fingerprintOfStats, sameFingerprint, type FileFingerprint } from './file-fingerprint.js';

/** Where backups.db is, and whether the indexes it names may be read from their pages (default: yes). */
export type BackupdFiles = Pick<BackupServerPaths, 'backupsDb' | 'backupsDbFormat'> & Partial<Pick<BackupServerPaths, 'pageReader'>>;

/** Each backup's two files, in the listing's order. */
export interface BackupFiles {
  index: readonly string[];
  data: readonly string[];
}

/** backups.db decoded: who has a backup, and in which data file. */
export interface BackupsListing {
  /** Undefined when backups.db could not be stat'ed: such a listing is never reused. */
  fingerprint: FileFingerprint | undefined;
  readAt: number;
  entries: Array<{ userid: string; dataFile: string }>;
  /** The entries' files, one object for the listing's life: the stat workers keep it between scans. */
  files: BackupFiles;
  dataFiles: Map<string, string>;
}

/**
 * A file whose mtime is this close to the moment it was read may be written again within the same
 * timestamp (coarse on some filesystems), unseen by its fingerprint: such a listing is read again next time.
 */
const SAME_TIMESTAMP_MS = 2000;

/**
 * backups.db, read again only when its (inode, size, mtime) moved. One instance serves the scheduler's
 * scans and its checks after each XBACKUP, so a cycle of many commands parses the file only when a
 * first backup has added someone to it.
 */
export class BackupsDbReader {
  private last: BackupsListing | undefined;

  constructor(readonly paths: BackupdFiles) {}

  /** The current listing (the same object while backups.db is unchanged); null when backups.db does not exist yet. */
  async listing(): Promise<BackupsListing | null> {
    // Not fingerprintOf(): a missing backups.db is an answer of its own (no backup yet), not a file to read.
    let fingerprint: FileFingerprint | undefined;
    try {
      const st = statSync(this.paths.backupsDb, { throwIfNoEntry: false });
      if (!st) {
        this.last = undefined;
        return null;
      }
      fingerprint = fingerprintOfStats(st);
    } catch {
      // Anything else (a permission problem) is for the read to report.
    }
    const last = this.last;
    if (last?.fingerprint && sameFingerprint(last.fingerprint, fingerprint) && last.fingerprint.mtimeMs < last.readAt - SAME_TIMESTAMP_MS) {
      return last;
    }
    // The wall clock, not an injected one: it is compared with the file's mtime.
    const readAt = Date.now();
    const entries = (await this.read()).map(({ key, value }) => ({
      userid: useridFromCyrus(key.toString('utf8')),
      dataFile: value.toString('utf8'),
    }));
    this.last = {
      fingerprint,
      readAt,
      entries,
      files: { index: entries.map((e) => indexFileOf(e.dataFile)), data: entries.map((e) => e.dataFile) },
      dataFiles: new Map(entries.map((e) => [e.userid, e.dataFile])),
    };
    return this.last;
  }

  /** An empty file is a database Cyrus has just created. */
  private async read(): Promise<CyrusDbEntry[]> {
    try {
      return (await readCyrusDb(this.paths.backupsDb, { backend: this.paths.backupsDbFormat })).entries;
    } catch (err) {
      if (err instanceof CyrusDbError && err.code === 'EMPTY_FILE') return [];
      throw err;
    }
  }
}
