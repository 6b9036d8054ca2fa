import { readBackupIndex } from '../backupd/backup-summary.js';
import type { BackupsDbReader } from '../backupd/backups-listing.js';
import { CyrusDbError } from '../backupd/cyrusdb/errors.js';
import { BackupIndexError } from '../backupd/index-error.js';
import { NO_CHUNK, type ChunkMark } from './backup-result.js';

export interface Verification {
  userid: string;
  /** The index after the command; null when it cannot be read (`reason` says why). */
  after: ChunkMark | null;
  /** For a user the server said OK for: a chunk that did not exist before the command is in its index. */
  verified: boolean;
  /** Why it is not verified, in words an admin can act on. */
  reason: string | null;
}

/**
 * Each user's index right before a command: what its result is judged against. An index that cannot be
 * read then (being written, damaged) counts as having no chunk, so any chunk after the command is new.
 */
export async function readChunkMarks(backupsDb: BackupsDbReader, userids: readonly string[]): Promise<Map<string, ChunkMark>> {
  const listing = await backupsDb.listing();
  return new Map(
    userids.map((userid) => {
      const dataFile = listing?.dataFiles.get(userid);
      if (!dataFile) return [userid, NO_CHUNK];
      try {
        return [userid, markOf(readBackupIndex(dataFile, { pageReader: backupsDb.paths.pageReader }))];
      } catch (err) {
        if (!(err instanceof BackupIndexError)) throw err;
        return [userid, NO_CHUNK];
      }
    }),
  );
}

/**
 * Reads every user's index after a command. A user the server said OK for is verified only by a chunk that
 * did not exist before the command, in a data file that grew: never by timestamps, which a chunk dated
 * in the future would satisfy forever. Otherwise the IMAP server sent the data elsewhere (its channel
 * points at another backup server) or nowhere. backups.db is looked at again because a first backup adds
 * the user to it (read again only when it changed).
 */
export async function verifyBackups(
  backupsDb: BackupsDbReader,
  userids: readonly string[],
  before: ReadonlyMap<string, ChunkMark>,
  saidOk: ReadonlySet<string>,
): Promise<Verification[]> {
  if (userids.length === 0) return [];
  let listing;
  try {
    listing = await backupsDb.listing();
  } catch (err) {
    // The command has run: its users are recorded as not verified, saying why, rather than left open.
    if (!(err instanceof CyrusDbError && err.code === 'NO_ACCESS')) throw err;
    return userids.map((userid) => ({ userid, after: null, verified: false, reason: err.message }));
  }
  const { backupsDb: backupsDbPath } = backupsDb.paths;
  const elsewhere = "the IMAP server's channel may point at another backup server";
  return userids.map((userid): Verification => {
    const dataFile = listing?.dataFiles.get(userid);
    if (!dataFile) return { userid, after: null, verified: false, reason: `no entry in ${backupsDbPath}: ${elsewhere}` };
    let after: ChunkMark;
    try {
      after = markOf(readBackupIndex(dataFile, { pageReader: backupsDb.paths.pageReader }));
    } catch (err) {
      if (!(err instanceof BackupIndexError)) throw err;
      return { userid, after: null, verified: false, reason: err.message };
    }
    if (!saidOk.has(userid)) return { userid, after, verified: false, reason: null };
    const was = before.get(userid) ?? NO_CHUNK;
    if (after.chunkId <= was.chunkId) {
      const newest = was.chunkId === 0 ? 'still no chunk' : `its newest chunk is still ${after.chunkId}`;
      return { userid, after, verified: false, reason: `no new chunk in ${dataFile}.index (${newest}): ${elsewhere}` };
    }
    if (was.dataBytes !== null && after.dataBytes !== null && after.dataBytes <= was.dataBytes) {
      return { userid, after, verified: false, reason: `chunk ${after.chunkId} is new in ${dataFile}.index, but the data file did not grow (${was.dataBytes} bytes before, ${after.dataBytes} now): it was replaced or rewritten meanwhile; run \`ctl_backups verify\` on it` };
    }
    return { userid, after, verified: true, reason: null };
  });
}

function markOf(summary: { newestChunkId: number | null; lastBackup: number | null; dataBytes: number }): ChunkMark {
  return { chunkId: summary.newestChunkId ?? 0, lastBackup: summary.lastBackup, dataBytes: summary.dataBytes };
}
