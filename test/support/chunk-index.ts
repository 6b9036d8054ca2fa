// Backup indexes built with SQLite in every shape the page reader (src/backupd/index-pages.ts)
// meets or must refuse, and SQLite's own answer for them, for the tests that compare the two.
import Database from 'better-sqlite3';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { encodeBackedUpMailboxes } from '../../src/backupd/backed-up-mailboxes.js';
import { EMPTY_GZIP_MEMBER, emptyChunks, insertMailboxes, SCHEMA, type SyntheticMailbox } from './synthetic-backup.js';

/** A ts_end as inserted: a JS number that is an integer is stored as INTEGER, another one as REAL; a string as TEXT. */
export type TsEnd = number | bigint | string | null;

export interface ChunkIndexOptions {
  /** ts_end of each chunk row, in id order (ids 1, 2, ...); chunk i is an empty gzip member at offset 20 (i - 1) of the data file (writeDataFile). */
  tsEnds: readonly TsEnd[];
  /** `PRAGMA page_size`, set before any table exists. */
  pageSize?: number;
  autoVacuum?: 'none' | 'full' | 'incremental';
  encoding?: 'UTF-8' | 'UTF-16le' | 'UTF-16be';
  /** 'wal' leaves the database in WAL mode (closed cleanly, so without a -wal file). */
  journalMode?: 'delete' | 'wal';
  userVersion?: number;
  /** Length of each row's file_sha1 and data_sha1 TEXT (40 by default); long ones put rows on overflow pages. */
  sha1Length?: number;
  /** Chunk ids deleted after all the inserts. */
  deleteIds?: Iterable<number>;
  /** VACUUM after the deletes. */
  vacuum?: boolean;
  /** Replaces Cyrus's schema; must have a chunk table with the columns id, ts_start, ts_end, offset, length, file_sha1, data_sha1. */
  schema?: string;
  /** Rows of the message and mailbox tables (a schema that has them). */
  messages?: number;
  mailboxes?: readonly SyntheticMailbox[];
}

/** Live and deleted rows as a user's folders leave them, names as Cyrus spells them (virtual domain, `^` for a dot, modified UTF-7). */
export const CYRUS_MAILBOXES: readonly SyntheticMailbox[] = [
  { name: 'example.com!user.anne^smith', uidvalidity: 1_700_000_000, lastUid: 1200, highestModseq: 4500 },
  { name: 'example.com!user.anne^smith.Sent', uidvalidity: 1_700_000_001, lastUid: 40, highestModseq: 4400 },
  { name: 'example.com!user.anne^smith.Old', uidvalidity: 1_600_000_000, lastUid: 3, highestModseq: 9, deleted: 1_650_000_000 },
  { name: 'example.com!user.anne^smith.J&APw-rgen', uidvalidity: 4_294_967_295, lastUid: 0, highestModseq: 1 },
  { name: 'example.com!user.anne^smith.Trash', uidvalidity: 1, lastUid: 2 ** 40, highestModseq: Number.MAX_SAFE_INTEGER },
];

function sha1Like(i: number, length: number): string {
  const hex = (i * 2654435761 >>> 0).toString(16).padStart(8, '0');
  return hex.repeat(Math.ceil(length / 8)).slice(0, length);
}

/** Writes a fresh index at `indexFile` (removing any old one and its journals). */
export function writeChunkIndex(indexFile: string, options: ChunkIndexOptions): void {
  mkdirSync(dirname(indexFile), { recursive: true });
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${indexFile}${suffix}`, { force: true });
  const db = new Database(indexFile);
  try {
    if (options.pageSize !== undefined) db.pragma(`page_size = ${options.pageSize}`);
    if (options.autoVacuum !== undefined) db.pragma(`auto_vacuum = ${options.autoVacuum}`);
    if (options.encoding !== undefined) db.pragma(`encoding = '${options.encoding}'`);
    db.exec(options.schema ?? SCHEMA);
    db.pragma(`user_version = ${options.userVersion ?? 3}`);
    const sha1Length = options.sha1Length ?? 40;
    // Statements are prepared only for rows to insert: a schema may lack the table.
    db.transaction(() => {
      if (options.tsEnds.length > 0) {
        const chunk = db.prepare('INSERT INTO chunk (id, ts_start, ts_end, offset, length, file_sha1, data_sha1) VALUES (?, ?, ?, ?, ?, ?, ?)');
        options.tsEnds.forEach((end, i) => {
          const start = typeof end === 'number' && Number.isSafeInteger(end - 60) ? end - 60 : 0;
          chunk.run(i + 1, start, end, i * EMPTY_GZIP_MEMBER.length, 0, sha1Like(i, sha1Length), sha1Like(i + 7, sha1Length));
        });
      }
      if (options.messages) {
        const message = db.prepare('INSERT INTO message (guid, chunk_id) VALUES (?, 1)');
        for (let i = 0; i < options.messages; i++) message.run(sha1Like(i, 40));
      }
      if (options.mailboxes?.length) insertMailboxes(db, options.mailboxes);
    })();
    if (options.deleteIds !== undefined) {
      const remove = db.prepare('DELETE FROM chunk WHERE id = ?');
      db.transaction(() => {
        for (const id of options.deleteIds!) remove.run(id);
      })();
    }
    if (options.vacuum) db.exec('VACUUM');
    if (options.journalMode !== undefined) db.pragma(`journal_mode = ${options.journalMode}`);
  } finally {
    db.close();
  }
}

/** A data file beside the index that holds chunks 1 to `chunks` where their rows say (an empty gzip member each); returns its size. */
export function writeDataFile(dataFile: string, chunks: number): number {
  mkdirSync(dirname(dataFile), { recursive: true });
  const bytes = emptyChunks(chunks);
  writeFileSync(dataFile, bytes);
  return bytes.length;
}

export interface SqliteChunkAnswer {
  userVersion: number;
  chunks: number;
  newestId: number | null;
  newestEnd: number | null;
  newestOffset: number | null;
  newestLength: number | null;
  /** The live mailbox rows in encodeBackedUpMailboxes's text, values as stored (not validated). */
  mailboxes: string;
}

/**
 * The chunk count, the newest chunk's id, ts_end, offset and length, the live mailbox rows, and
 * `PRAGMA user_version`, from SQLite itself (read-only).
 */
export function sqliteChunkAnswer(indexFile: string): SqliteChunkAnswer {
  const db = new Database(indexFile, { readonly: true, fileMustExist: true });
  try {
    const newest = (column: string) => `(SELECT ${column} FROM chunk ORDER BY id DESC LIMIT 1) AS ${column === 'id' ? 'newestId' : column}`;
    const row = db
      // max(ts_end) makes SQLite read every row's record, as the page reader does.
      .prepare(`SELECT count(*) AS chunks, max(ts_end) AS walked, ${['id', 'ts_end', 'offset', 'length'].map(newest).join(', ')} FROM chunk`)
      .get() as { chunks: number; newestId: number | null; ts_end: number | null; offset: number | null; length: number | null };
    const mailboxes = db.prepare('SELECT mboxname, uidvalidity, last_uid, highestmodseq FROM mailbox WHERE deleted IS NULL ORDER BY id').raw().all() as Array<[string, number, number, number]>;
    return {
      userVersion: db.pragma('user_version', { simple: true }) as number,
      chunks: row.chunks,
      newestId: row.newestId,
      newestEnd: row.ts_end,
      newestOffset: row.offset,
      newestLength: row.length,
      mailboxes: encodeBackedUpMailboxes(mailboxes.map(([name, uidvalidity, lastUid, highestModseq]) => ({ name, uidvalidity, lastUid, highestModseq }))),
    };
  } finally {
    db.close();
  }
}

export interface IndexShape {
  pageSize: number;
  /** Levels of the chunk table's b-tree: 1 when its root is a leaf. */
  chunkDepth: number;
  chunkOverflowPages: number;
  /** The same of the mailbox table (0 and 0 without one). */
  mailboxDepth: number;
  mailboxOverflowPages: number;
  /** Pages of the schema table (sqlite_schema) itself, overflow included. */
  schemaPages: number;
  freelistPages: number;
  autoVacuum: number;
  journalMode: string;
}

/** What the file looks like inside, so a test can show it covers what it says (dbstat). */
export function indexShape(indexFile: string): IndexShape {
  const db = new Database(indexFile, { readonly: true, fileMustExist: true });
  try {
    const tree = db.prepare(
      "SELECT coalesce(max(CASE WHEN pagetype IN ('internal', 'leaf') THEN length(path) - length(replace(path, '/', '')) END), 0) AS depth, " +
        "count(CASE WHEN pagetype = 'overflow' THEN 1 END) AS overflow FROM dbstat WHERE name = ?",
    );
    const stat = tree.get('chunk') as { depth: number; overflow: number };
    const mailbox = tree.get('mailbox') as { depth: number; overflow: number };
    const schema = db.prepare("SELECT count(*) AS pages FROM dbstat WHERE name IN ('sqlite_schema', 'sqlite_master')").get() as { pages: number };
    return {
      pageSize: db.pragma('page_size', { simple: true }) as number,
      chunkDepth: stat.depth,
      chunkOverflowPages: stat.overflow,
      mailboxDepth: mailbox.depth,
      mailboxOverflowPages: mailbox.overflow,
      schemaPages: schema.pages,
      freelistPages: db.pragma('freelist_count', { simple: true }) as number,
      autoVacuum: db.pragma('auto_vacuum', { simple: true }) as number,
      journalMode: db.pragma('journal_mode', { simple: true }) as string,
    };
  } finally {
    db.close();
  }
}
