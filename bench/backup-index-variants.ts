import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const DAY = 86_400;
/**
 * A user's folders as a mail client leaves them (INBOX is the user's own name), the last one deleted: the
 * backup keeps its row. The special-use folders carry their annotation, as Cyrus stores it in the row.
 */
const MAILBOXES: ReadonlyArray<{ name: string; specialUse?: string; deleted?: true }> = [
  { name: 'INBOX' },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Archive', specialUse: '\\Archive' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Templates' },
  { name: 'Lists' },
  { name: 'Lists.cyrus-devel' },
  { name: 'Projekte.B&APw-ro' },
  { name: 'Old', deleted: true },
];
/** Cyrus's ACL text: identifier TAB rights TAB, the owner's and an admin's. */
const ACL = 'template\tlrswipkxtecdan\tadmin\tlrswipkxtecdan\t';

/** One gzip member holding nothing: a chunk whose uncompressed data is empty (length 0, sha1 of ""). */
const EMPTY_GZIP_MEMBER = gzipSync(Buffer.alloc(0));

const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');

/** A backup as a data file and an index, copied for every user with that many chunks. */
export interface BackupVariant {
  chunks: number;
  dataFile: Buffer;
  indexFile: string;
}

/**
 * Fills a copy of Cyrus's own empty index (so the schema is exactly what the installed Cyrus writes).
 * Chunk times are relative to the latest chunk's end (0): each user's copy is shifted by one UPDATE.
 * Mailbox names and GUIDs stay the template's: `ctl_backups list` reads neither, our scan reads the names
 * without comparing them with the userid.
 *
 * `ctl_backups list` verifies the last chunk only: the file's sha1 up to the chunk's offset, then the sha1
 * and length of the chunk's uncompressed data. Empty gzip members pass that check at any number of chunks.
 */
export function writeBackupVariant(cyrusEmptyIndex: string, indexFile: string, chunks: number, messages: number): BackupVariant {
  const dataFile = Buffer.concat(Array.from({ length: chunks }, () => EMPTY_GZIP_MEMBER));
  copyFileSync(cyrusEmptyIndex, indexFile);
  const db = new Database(indexFile);
  try {
    db.pragma('synchronous = OFF');
    db.transaction(() => fillIndex(db, dataFile, chunks, chunks === 0 ? 0 : messages))();
  } finally {
    db.close();
  }
  return { chunks, dataFile, indexFile };
}

function fillIndex(db: Database.Database, dataFile: Buffer, chunks: number, messages: number): void {
  const chunk = db.prepare('INSERT INTO chunk (id, ts_start, ts_end, offset, length, file_sha1, data_sha1) VALUES (?, ?, ?, ?, 0, ?, ?)');
  for (let i = 0; i < chunks; i++) {
    const offset = i * EMPTY_GZIP_MEMBER.length;
    const end = -(chunks - 1 - i) * DAY;
    chunk.run(i + 1, end - 30, end, offset, sha1(dataFile.subarray(0, offset)), sha1(Buffer.alloc(0)));
  }
  if (chunks === 0) return;
  const mailbox = db.prepare(
    `INSERT INTO mailbox (id, last_chunk_id, uniqueid, mboxname, mboxtype, last_uid, highestmodseq, recentuid, recenttime, last_appenddate,
       pop3_last_login, pop3_show_after, uidvalidity, partition, acl, options, sync_crc, sync_crc_annot, quotaroot, xconvmodseq, annotations, deleted)
     VALUES (?, ?, ?, ?, 'e', ?, ?, ?, 1700000000, 1700000000, 0, 0, ?, 'default', ?, 'P', ?, ?, 'user.template', 0, ?, ?)`,
  );
  const subscription = db.prepare('INSERT INTO subscription (last_chunk_id, mboxname) VALUES (?, ?)');
  const seen = db.prepare('INSERT INTO seen (last_chunk_id, uniqueid, lastread, lastuid, lastchange, seenuids) VALUES (?, ?, 0, ?, 0, ?)');
  MAILBOXES.forEach(({ name, specialUse, deleted }, i) => {
    const mboxname = i === 0 ? 'user.template' : `user.template.${name}`;
    const uniqueid = `mbox-${i}-${'0'.repeat(28)}`;
    // The messages are INBOX's; the other folders hold a few UIDs of their own.
    const lastUid = i === 0 ? messages : 3 * i;
    const [modseq, uidvalidity, syncCrc, annotCrc] = [lastUid + 7 * i + 1, 1_700_000_000 + i, (0x1234_5678 * i) >>> 0, (0x0abc_def0 * i) >>> 0];
    mailbox.run(i + 1, chunks, uniqueid, mboxname, lastUid, modseq, lastUid, uidvalidity, ACL, syncCrc, annotCrc, annotations(mboxname, specialUse), deleted ? 1_700_000_000 : null);
    if (deleted) return;
    subscription.run(chunks, mboxname);
    seen.run(chunks, uniqueid, lastUid, lastUid > 0 ? `1:${lastUid}` : '');
  });
  const message = db.prepare('INSERT INTO message (id, guid, partition, chunk_id, offset, size) VALUES (?, ?, \'default\', ?, 0, 2048)');
  const link = db.prepare(
    'INSERT INTO mailbox_message (mailbox_id, message_id, last_chunk_id, uid, modseq, last_updated, flags, internaldate) VALUES (1, ?, ?, ?, ?, 1700000000, \'\\Seen\', 1700000000)',
  );
  for (let m = 1; m <= messages; m++) {
    const chunkId = 1 + (m % chunks);
    message.run(m, sha1(Buffer.from(`message ${m}`)), chunkId);
    link.run(m, chunkId, m, m + 1);
  }
  db.prepare("INSERT INTO sieve (chunk_id, last_update, filename, guid, offset, deleted) VALUES (1, 1700000000, 'default.script', ?, 0, NULL)").run(
    sha1(Buffer.from('sieve')),
  );
}

/** A mailbox's annotations as backupd stores them (a dlist): its special use, if any, and a comment. */
function annotations(mboxname: string, specialUse: string | undefined): string {
  const entry = (name: string, value: string) => `%(ENTRY ${name} USERID NIL VALUE {${value.length}+}\r\n${value})`;
  const entries = [entry('/comment', `Folder ${mboxname}, filed by the mail client`)];
  if (specialUse) entries.push(entry('/specialuse', specialUse));
  return `(${entries.join(' ')})`;
}
