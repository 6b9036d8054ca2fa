import Database from 'better-sqlite3';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The tables of a Cyrus 3.6 backup index that the scheduler reads (as `.schema` shows on a real one). */
export const SCHEMA = `
CREATE TABLE chunk( id INTEGER PRIMARY KEY ASC, ts_start INTEGER, ts_end INTEGER, offset INTEGER unique, length INTEGER, file_sha1 TEXT, data_sha1 TEXT );
CREATE TABLE message( id INTEGER PRIMARY KEY ASC, guid CHAR UNIQUE NOT NULL, partition CHAR, chunk_id INTEGER REFERENCES chunk(id), offset INTEGER, size INTEGER );
CREATE TABLE mailbox( id INTEGER PRIMARY KEY ASC, last_chunk_id INTEGER NOT NULL REFERENCES chunk(id), uniqueid CHAR UNIQUE NOT NULL, mboxname CHAR NOT NULL, mboxtype CHAR, last_uid INTEGER, highestmodseq INTEGER, recentuid INTEGER, recenttime INTEGER, last_appenddate INTEGER, pop3_last_login INTEGER, pop3_show_after INTEGER, uidvalidity INTEGER, partition CHAR, acl CHAR, options CHAR, sync_crc INTEGER, sync_crc_annot INTEGER, quotaroot CHAR, xconvmodseq INTEGER, annotations CHAR, deleted INTEGER );
`;

/** One gzip member holding nothing: Cyrus writes each chunk as its own gzip member, and this is the smallest (20 bytes). */
export const EMPTY_GZIP_MEMBER = gzipSync(Buffer.alloc(0));

/** A data file of `chunks` empty chunks, one after the other (chunk i at offset 20 i, of length 0). */
export function emptyChunks(chunks: number): Buffer {
  return Buffer.concat(Array.from({ length: chunks }, () => EMPTY_GZIP_MEMBER));
}

/** A row of the mailbox table; the values are inserted as given, so a test can write what Cyrus never would. */
export interface SyntheticMailbox {
  name: unknown;
  uidvalidity: unknown;
  lastUid: unknown;
  highestModseq: unknown;
  /** Set: the row of a deleted mailbox, which the backup keeps. */
  deleted?: number;
  /** Text that long (about 120 bytes by default): a large one puts the row on overflow pages. */
  annotationsLength?: number;
}

/** Inserts `mailboxes` as Cyrus does (every column set, all in one chunk), in order: the first is row 1. */
export function insertMailboxes(db: Database.Database, mailboxes: readonly SyntheticMailbox[]): void {
  const insert = db.prepare(
    `INSERT INTO mailbox (last_chunk_id, uniqueid, mboxname, mboxtype, last_uid, highestmodseq, recentuid, recenttime, last_appenddate, pop3_last_login,
       pop3_show_after, uidvalidity, partition, acl, options, sync_crc, sync_crc_annot, quotaroot, xconvmodseq, annotations, deleted)
     VALUES (1, ?, ?, 'e', ?, ?, 0, 0, 0, 0, 0, ?, 'default', 'anne\tlrswipkxtecdan\t', 'P', 12345, 678, 'user.anne', 0, ?, ?)`,
  );
  mailboxes.forEach((m, i) => {
    const annotations = '%(ENTRY /comment USERID NIL VALUE {9+}\r\nsynthetic) '.repeat(Math.ceil((m.annotationsLength ?? 120) / 50)).slice(0, m.annotationsLength ?? 120);
    insert.run(`uniqueid-${i}`, m.name, m.lastUid, m.highestModseq, m.uidvalidity, annotations, m.deleted ?? null);
  });
}

export interface SyntheticBackup {
  /** ts_end of each chunk, in seconds since the epoch. */
  chunkEnds: number[];
  messages?: number;
  /** Rows of the mailbox table (none by default). */
  mailboxes?: readonly SyntheticMailbox[];
  /** Size of the data file: its chunks, then zeros (what a backupd killed mid-write leaves); 100 by default. */
  dataBytes?: number;
  userVersion?: number;
}

/** Writes (or rewrites) a data file and an index that look like backupd's, for tests that need no running Cyrus. */
export function writeSyntheticBackup(dataFile: string, backup: SyntheticBackup): void {
  mkdirSync(dirname(dataFile), { recursive: true });
  const chunks = emptyChunks(backup.chunkEnds.length);
  const dataBytes = backup.dataBytes ?? Math.max(100, chunks.length);
  if (dataBytes < chunks.length) throw new Error(`${backup.chunkEnds.length} chunks need a data file of at least ${chunks.length} bytes, not ${dataBytes}`);
  writeFileSync(dataFile, Buffer.concat([chunks, Buffer.alloc(dataBytes - chunks.length)]));
  rmSync(`${dataFile}.index`, { force: true });
  const db = new Database(`${dataFile}.index`);
  db.exec(SCHEMA);
  db.pragma(`user_version = ${backup.userVersion ?? 3}`);
  const chunk = db.prepare('INSERT INTO chunk (ts_start, ts_end, offset, length) VALUES (?, ?, ?, 0)');
  backup.chunkEnds.forEach((end, i) => chunk.run(end, end, i * EMPTY_GZIP_MEMBER.length));
  const message = db.prepare("INSERT INTO message (guid, chunk_id) VALUES (?, 1)");
  for (let i = 0; i < (backup.messages ?? 0); i++) message.run(`guid${i}`);
  insertMailboxes(db, backup.mailboxes ?? []);
  db.close();
}

/** A flat-format backups.db (key TAB value per line), which needs no Cyrus tool to write. */
export function writeFlatBackupsDb(file: string, entries: ReadonlyArray<readonly [string, string]>): void {
  writeFileSync(file, entries.map(([k, v]) => `${k}\t${v}\n`).join(''));
}
