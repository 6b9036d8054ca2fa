// The page reader's consistency protocol against a real concurrent SQLite writer in another process
// (test/support/chunk-index-writer.ts). The writer commits one chunk row at a time, each with ts_end =
// the new row count and a mailbox row whose last_uid is that count too, so every committed state has
// chunks === newestEnd === the largest last_uid; between them it runs big transactions whose pages spill
// into the database file and which then roll back, all with ts_end and last_uid = ROLLED_BACK. Whatever
// the reader does not decline must be a committed state: chunks === newestEnd, its mailbox rows those of
// the same commit, never a rolled-back row, never older than an earlier result.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { readIndexPages } from '../../src/backupd/index-pages.js';
import { readBackupIndex } from '../../src/backupd/backup-summary.js';
import { decodeBackedUpMailboxes } from '../../src/backupd/backed-up-mailboxes.js';
import { NotPlainPages } from '../../src/backupd/sqlite-file/not-plain-pages.js';
import { sqliteChunkAnswer, writeChunkIndex, writeDataFile } from '../support/chunk-index.js';
import type { WriterReport } from '../support/chunk-index-writer.js';
import { waitFor } from '../support/wait-for.js';

const WRITER = fileURLToPath(new URL('../support/chunk-index-writer.js', import.meta.url));
const ROLLED_BACK = 1_000_000_000;
/** The reader reads until the writer has rolled back this many big transactions that spilled into the file. */
const SPILLED = 10;
/** A big transaction after every this many one-row commits, of this many rows. */
const BIG_EVERY = 15;
const BIG_ROWS = 3000;
/** Rows (ts_end 1, 2, ...) before the writer starts: a read of some hundred pages leaves a write time to overlap it. */
const INITIAL_ROWS = 5000;
/** The writer's pause between steps: reads find the file settled too, not only mid-write. */
const PAUSE_MS = 5;

const dir = mkdtempSync(join(tmpdir(), 'xbs-chunk-pages-race-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type?: string }) => {
      if (message?.type !== type) return;
      child.off('message', onMessage).off('exit', onExit);
      resolve(message as T);
    };
    const onExit = (code: number | null, signal: string | null) => reject(new Error(`the writer exited (${code ?? signal}) before '${type}'`));
    child.on('message', onMessage).once('exit', onExit);
  });
}

describe('the page reader against a concurrent writer in another process', () => {
  test('every result it returns is a committed state, never a rolled-back or half-written one, and never older', { timeout: 180_000 }, async (t) => {
    const data = join(dir, 'user_X');
    const index = `${data}.index`;
    writeChunkIndex(index, {
      tsEnds: Array.from({ length: INITIAL_ROWS }, (_, i) => i + 1),
      mailboxes: [{ name: 'user.w', uidvalidity: 1, lastUid: INITIAL_ROWS, highestModseq: INITIAL_ROWS }],
    });
    // The pages are read only for a schema SQLite has read in this process.
    writeDataFile(data, INITIAL_ROWS);
    readBackupIndex(data);
    const writer = fork(WRITER, [index, String(BIG_EVERY), String(BIG_ROWS), String(ROLLED_BACK), String(PAUSE_MS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let exited = false;
    writer.once('exit', () => (exited = true));
    t.after(() => {
      if (!exited) writer.kill('SIGKILL');
    });
    await nextMessage(writer, 'started');

    let progress: Pick<WriterReport, 'commits' | 'rollbacks' | 'spilled'> = { commits: 0, rollbacks: 0, spilled: 0 };
    writer.on('message', (m: WriterReport) => m?.type === 'progress' && (progress = m));

    let results = 0;
    let latest = -1;
    const states = new Set<number>();
    const declines = new Map<string, number>();
    const read = () => {
      const pages = readIndexPages(index);
      if (pages instanceof NotPlainPages) {
        const reason = pages.message.replace(/\d+/g, 'N');
        declines.set(reason, (declines.get(reason) ?? 0) + 1);
        return;
      }
      results++;
      const read = `read ${results} (${pages.chunks} chunks, newest end ${pages.newestEnd})`;
      assert.ok(pages.newestEnd === null || pages.newestEnd < ROLLED_BACK, `${read}: a row of a rolled-back transaction`);
      assert.equal(pages.newestEnd, pages.chunks === 0 ? null : pages.chunks, `${read}: not a committed state`);
      assert.ok(pages.chunks >= latest, `${read}: went back from ${latest} chunks`);
      const uids = decodeBackedUpMailboxes(pages.mailboxes.encoded(index)).map((m) => m.lastUid);
      assert.equal(uids.length, 1 + pages.chunks - INITIAL_ROWS, `${read}: mailbox rows of another commit`);
      assert.equal(Math.max(...uids), pages.chunks, `${read}: mailbox rows of another commit`);
      assert.equal(pages.userVersion, 3);
      latest = pages.chunks;
      states.add(pages.chunks);
    };
    // Bursts of back-to-back reads (the writer runs in its own process), with a turn of the event loop
    // between them for the writer's progress: until it has spilled and rolled back SPILLED big transactions.
    const started = performance.now();
    await waitFor(
      () => {
        if (exited) assert.fail('the writer exited while the reader read');
        for (let i = 0; i < 100; i++) read();
        return progress.spilled >= SPILLED && states.size >= 2;
      },
      { what: `${SPILLED} spilled transactions rolled back while the reader read`, timeoutMs: 120_000, intervalMs: 0, describe: () => JSON.stringify({ ...progress, results, states: states.size }) },
    );
    const readMs = performance.now() - started;

    const stopped = nextMessage<WriterReport>(writer, 'stopped');
    writer.send('stop');
    const report = await stopped;
    await new Promise<void>((resolve) => (exited ? resolve() : writer.once('exit', () => resolve())));

    const declined = [...declines.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(
      `${results} results (${states.size} distinct committed states, up to ${latest} chunks) and ${declined} declines in ${readMs.toFixed(0)} ms ` +
        `(${[...declines].map(([reason, n]) => `${reason}: ${n}`).join(', ') || 'none'}); writer: ${report.commits} commits, ` +
        `${report.rollbacks} rolled-back transactions of ${BIG_ROWS} rows, ${report.spilled} of them spilled into the file`,
    );
    assert.ok(results > 0, 'some reads returned a result');
    assert.ok(states.size >= 2, 'the reads overlapped the writer');
    assert.ok(report.rollbacks > 0 && report.spilled > 0, 'the writer spilled uncommitted pages into the file and rolled them back');
    if (declined === 0) t.diagnostic('no read was declined on this machine: the writer was never caught mid-transaction');

    // Settled: the pages are read, and they are the writer's last commit.
    const final = readIndexPages(index);
    assert.ok(!(final instanceof NotPlainPages), `the settled index was declined: ${(final as NotPlainPages).message}`);
    assert.equal(final.chunks, report.rows);
    assert.equal(final.newestEnd, report.rows);
    const { fingerprint: _, ...answer } = final;
    assert.deepEqual({ ...answer, mailboxes: final.mailboxes.encoded(index) }, sqliteChunkAnswer(index));
  });
});
