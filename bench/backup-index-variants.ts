import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const DAY = 86_400;
const MAILBOXES = ['INBOX', 'Sent', 'Drafts', 'Trash'];

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
 * Mailbox names and GUIDs stay the template's: neither `ctl_backups list` nor our scan reads them.
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
    `INSERT INTO mailbox (id, last_chunk_id, uniqueid, mboxname, mboxtype, last_uid, highestmodseq, uidvalidity, partition, acl, options)
     VALUES (?, ?, ?, ?, 'e', ?, ?, 1700000000, 'default', 'template lrswipkxtecdan', 'P')`,
  );
  const subscription = db.prepare('INSERT INTO subscription (last_chunk_id, mboxname) VALUES (?, ?)');
  const seen = db.prepare('INSERT INTO seen (last_chunk_id, uniqueid, lastread, lastuid, lastchange, seenuids) VALUES (?, ?, 0, ?, 0, ?)');
  MAILBOXES.forEach((name, i) => {
    const mboxname = i === 0 ? 'user.template' : `user.template.${name}`;
    const uniqueid = `mbox-${i}-${'0'.repeat(28)}`;
    mailbox.run(i + 1, chunks, uniqueid, mboxname, messages, messages + 1);
    subscription.run(chunks, mboxname);
    seen.run(chunks, uniqueid, messages, messages > 0 ? `1:${messages}` : '');
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
