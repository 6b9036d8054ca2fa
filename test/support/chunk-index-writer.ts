// A backupd-like writer of a backup index, run as its own process (SQLite's POSIX locks are per process,
// so a writer in the reading process would not be a real concurrent writer) by
// test/backupd/index-pages.race.test.ts:
//   node chunk-index-writer.js <index file> <big transaction every N commits> <rows per big transaction> <their ts_end> <pause ms>
// In rollback-journal (DELETE) mode it commits one chunk row at a time whose ts_end is the new row count,
// with a mailbox row whose last_uid is that count too, so every committed state has count(*) = max(ts_end)
// = max(last_uid); every N commits it also runs a big transaction with a 10-page cache (its dirty pages
// spill into the database file before the end) that inserts chunk and mailbox rows with the given ts_end
// and last_uid and rolls back. It pauses between steps (as backupd does between its writes), so that
// reads also find the file settled. It sends 'started' once writing, its counts so far ('progress') after
// each big transaction, and on 'stop' (or when its parent goes away, or after a safety bound) its counts,
// then exits.
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';

export interface WriterReport {
  type: 'stopped' | 'progress';
  /** Committed rows in the table at the end, each commit one row. */
  rows: number;
  commits: number;
  rollbacks: number;
  /** Big transactions whose pages were seen in the database file before their rollback (it grew). */
  spilled: number;
}

// Far beyond the reader's own bound: the writer only stops by itself when its parent forgot it.
const SAFETY_MS = 300_000;

function main(): void {
  const [file, everyText, bigRowsText, rolledBackText, pauseText] = process.argv.slice(2);
  if (!file || !process.send) throw new Error('usage: fork(chunk-index-writer.js, [index, every, bigRows, rolledBackTsEnd, pauseMs])');
  const pauseMs = Number(pauseText ?? 0);
  const every = Number(everyText ?? 20);
  const bigRows = Number(bigRowsText ?? 3000);
  const rolledBack = Number(rolledBackText ?? 1_000_000_000);
  const db = new Database(file, { timeout: 5000 });
  db.pragma('journal_mode = DELETE');
  db.pragma('cache_size = 10');
  const insert = db.prepare('INSERT INTO chunk (ts_start, ts_end, offset, length, file_sha1, data_sha1) VALUES (?, ?, ?, 4096, ?, ?)');
  const mailbox = db.prepare('INSERT INTO mailbox (last_chunk_id, uniqueid, mboxname, last_uid, highestmodseq, uidvalidity, acl) VALUES (1, ?, ?, ?, ?, 1, ?)');
  const commit = db.transaction((n: number) => {
    insert.run(n, n, n * 4096, sha1(n), sha1(n + 1));
    mailbox.run(`w${n}`, `user.w.${n}`, n, n, sha1(n));
  });
  let rows = db.prepare('SELECT count(*) FROM chunk').pluck().get() as number;
  const report: WriterReport = { type: 'stopped', rows, commits: 0, rollbacks: 0, spilled: 0 };
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    report.rows = rows;
    db.close();
    if (process.connected) process.send!(report, () => process.exit(0));
    else process.exit(0);
  };
  process.on('message', (message) => message === 'stop' && stop());
  process.on('disconnect', stop);
  const deadline = Date.now() + SAFETY_MS;
  const sha1 = (n: number) => (n * 2654435761 >>> 0).toString(16).padStart(8, '0').repeat(5);

  // One step a turn of the event loop, so that 'stop' is seen between steps.
  const step = () => {
    if (stopping) return;
    if (Date.now() > deadline) return stop();
    if (report.commits > 0 && report.commits % every === 0 && report.rollbacks < report.commits / every) {
      const sizeBefore = statSync(file).size;
      db.exec('BEGIN');
      for (let i = 0; i < bigRows; i++) {
        insert.run(rolledBack, rolledBack, 1e12 + i, sha1(i), sha1(i + 1));
        mailbox.run(`rolled-back-${i}`, `user.rolled-back.${i}`, rolledBack, rolledBack, sha1(i));
      }
      if (statSync(file).size > sizeBefore) report.spilled++;
      db.exec('ROLLBACK');
      report.rollbacks++;
      process.send!({ ...report, type: 'progress', rows });
    } else {
      rows++;
      commit(rows);
      report.commits++;
    }
    if (pauseMs > 0) setTimeout(step, pauseMs);
    else setImmediate(step);
  };
  process.send({ type: 'started' });
  setImmediate(step);
}

main();
