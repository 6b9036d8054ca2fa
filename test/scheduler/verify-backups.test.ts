// A backup is verified by a chunk that did not exist before its command, in a data file that grew: never by
// timestamps, which one chunk dated in the future would satisfy forever.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BackupsDbReader } from '../../src/backupd/backups-listing.js';
import { NO_CHUNK } from '../../src/scheduler/backup-result.js';
import { readChunkMarks, verifyBackups } from '../../src/scheduler/verify-backups.js';
import { sweptResults } from '../../src/scheduler/verified-results.js';
import { EMPTY_GZIP_MEMBER, writeFlatBackupsDb, writeSyntheticBackup } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-verify-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const NOW_S = Math.floor(Date.now() / 1000);

function server(users: Record<string, number[]>) {
  const entries = Object.entries(users).map(([userid, ends]): [string, string] => {
    const file = join(dir, 'data', userid);
    writeSyntheticBackup(file, { chunkEnds: ends });
    return [userid, file];
  });
  writeFlatBackupsDb(join(dir, 'backups.db'), entries);
  return { reader: new BackupsDbReader({ backupsDb: join(dir, 'backups.db'), backupsDbFormat: 'flat' }), files: Object.fromEntries(entries) };
}

/** What backupd does on a backup: one more chunk, its own gzip member at the end of the data file. */
function appendChunk(file: string, tsEnd: number): void {
  const offset = statSync(file).size;
  appendFileSync(file, EMPTY_GZIP_MEMBER);
  const db = new Database(`${file}.index`);
  db.prepare('INSERT INTO chunk (ts_start, ts_end, offset, length) VALUES (?, ?, ?, 0)').run(tsEnd, tsEnd, offset);
  db.close();
}

describe('verification by chunk id', () => {
  test('a new chunk in a grown data file verifies; the same newest chunk does not, even dated a year ahead', async () => {
    const { reader, files } = server({ anne: [NOW_S - 100], fut: [NOW_S + 365 * 86400], bob: [NOW_S - 50] });
    const before = await readChunkMarks(reader, ['anne', 'fut', 'bob']);
    assert.deepEqual(before.get('anne'), { chunkId: 1, lastBackup: (NOW_S - 100) * 1000, dataBytes: 100 });
    appendChunk(files.anne!, NOW_S);
    const results = await verifyBackups(reader, ['anne', 'fut', 'bob'], before, new Set(['anne', 'fut']));
    const by = new Map(results.map((r) => [r.userid, r]));
    assert.equal(by.get('anne')!.verified, true);
    assert.equal(by.get('anne')!.after!.chunkId, 2);
    assert.equal(by.get('fut')!.verified, false, 'a chunk dated in the future is not a new one');
    assert.match(by.get('fut')!.reason!, /no new chunk in .*fut\.index \(its newest chunk is still 1\)/);
    assert.equal(by.get('bob')!.verified, false, 'not said OK for: read, never verified');
    assert.equal(by.get('bob')!.after!.chunkId, 1);
  });

  test('a new chunk id whose data file did not grow (replaced meanwhile) is not verified', async () => {
    const { reader, files } = server({ carol: [NOW_S - 100] });
    const before = await readChunkMarks(reader, ['carol']);
    // Rewritten meanwhile (a new backup file with two chunks, smaller than the one read before).
    writeSyntheticBackup(files.carol!, { chunkEnds: [NOW_S - 100, NOW_S], dataBytes: 40 });
    const [result] = await verifyBackups(reader, ['carol'], before, new Set(['carol']));
    assert.equal(result!.verified, false);
    assert.match(result!.reason!, /chunk 2 is new .* but the data file did not grow \(100 bytes before, 40 now\)/);
  });

  test('a first backup: no entry before, any chunk after verifies; no entry after does not', async () => {
    const { reader } = server({ dave: [NOW_S] });
    const [dave] = await verifyBackups(reader, ['dave'], new Map([['dave', NO_CHUNK]]), new Set(['dave']));
    assert.equal(dave!.verified, true);
    const [ghost] = await verifyBackups(reader, ['ghost'], new Map([['ghost', NO_CHUNK]]), new Set(['ghost']));
    assert.equal(ghost!.verified, false);
    assert.match(ghost!.reason!, /no entry in .*backups\.db/);
  });
});

/** An XBACKUP of `user.an*` that reported these USER lines (text, or text and ok), and `unkeptLines` more. */
function runOf(startedAt: number, lines: Array<string | [string, boolean]>, unkeptLines: number) {
  return {
    server: 'imap1',
    pattern: 'user.an*',
    channel: 'backup',
    startedAt,
    endedAt: startedAt + 1000,
    items: lines.map((l) => ({ kind: 'user' as const, text: typeof l === 'string' ? l : l[0], ok: typeof l === 'string' || l[1], at: startedAt + 500 })),
    unkeptLines,
    tagged: { status: 'OK' as const, text: 'Completed' },
    failure: null,
  };
}

describe('users a command reported though it did not ask for them', () => {
  test('are given back as results of their own: ok with a chunk ended since the command began, unverified without, no as said', async () => {
    const startedAt = (NOW_S - 10) * 1000;
    const { reader } = server({ anne: [NOW_S], annette: [NOW_S - 5], anna: [NOW_S - 3600], ann: [NOW_S] });
    const run = runOf(startedAt, ['anne', 'annette', 'anna', ['ann (Mailbox is locked)', false]], 0);
    const swept = await sweptResults(run, ['anne'], startedAt, reader, null);
    assert.deepEqual(
      swept.map((r) => [r.userid, r.outcome]),
      [
        ['annette', 'ok'],
        ['anna', 'unverified'],
        ['ann', 'no'],
      ],
    );
    assert.match(swept[0]!.error!, /reported by XBACKUP user\.an\* though not asked for/);
    assert.doesNotMatch(swept[0]!.error!, /not kept/);
    assert.ok(swept.every((r) => r.verifiedBackupAt === null), 'nothing read before the command: never a verified backup');
  });

  test('past the lines kept for users not asked for, each result says how many more came', async () => {
    const startedAt = (NOW_S - 10) * 1000;
    const { reader } = server({ annette: [NOW_S - 5] });
    const run = runOf(startedAt, ['annette'], 250_000);
    const [annette] = await sweptResults(run, ['anne'], startedAt, reader, null);
    assert.match(annette!.error!, /; 250,000 more such lines were not kept \(at most 1,000 are\)$/);
  });
});
