// Issue 12, against real Cyrus: the cases where the tool used to say fresh (or failing, or orphan) about
// a backup and be wrong. Each drives real imapd and backupd and reads the real files they leave.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess, startCliProcess } from '../support/run-cli.js';
import { readAttempts } from '../support/state-db-reader.js';
import { dataFileBytes, messagesInBackup, reportUsers } from '../faults/support/fault-checks.js';
import { waitFor } from '../support/wait-for.js';
import { useBed } from '../support/use-bed.js';

/** Large enough that backupd stages one batch of 1,024 messages and commits it before the rest arrive. */
const BIG = { userid: 'big', messages: 4000, messageBytes: 20_000 };

describe('wrong answers about backups, against real Cyrus', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-wrong-answers-',
    async setup() {
      await bed.createUser(BIG.userid, { messages: BIG.messages, messageBytes: BIG.messageBytes });
      for (const userid of ['fut', 'd002']) await bed.createUser(userid, { messages: 3 });
    },
  });

  /** The newest chunk's id in a user's index (0 without a backup), read-only. */
  async function newestChunk(userid: string): Promise<number> {
    const dataFile = (await bed.cyrDbtoolShowBackupsDb()).get(userid);
    if (!dataFile) return 0;
    const db = new Database(`${dataFile}.index`, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT coalesce(max(id), 0) AS id FROM chunk').get() as { id: number }).id;
    } finally {
      db.close();
    }
  }

  /** The last UID of the user's INBOX as its backup holds it (0 without a row for it), read-only. */
  async function inboxLastUid(userid: string): Promise<number> {
    const dataFile = (await bed.cyrDbtoolShowBackupsDb()).get(userid);
    if (!dataFile) return 0;
    const db = new Database(`${dataFile}.index`, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT last_uid FROM mailbox WHERE mboxname = ? AND deleted IS NULL').get(`user.${userid}`) as { last_uid: number } | undefined;
      return row?.last_uid ?? 0;
    } finally {
      db.close();
    }
  }

  test('an interrupted first backup that left a partial chunk stays missing until a backup succeeds', { timeout: 240_000 }, async (t) => {
    const config = writeBedConfig(bed, join(work, 'partial'), {
      servers: [{ which: 'imap1', settings: { users: [BIG.userid] } }],
      extra: 'retry:\n  baseDelay: 1s\n  maxDelay: 1s\nbootstrap:\n  groupSize: 1\n  pause: 0s\n',
    });
    const forced = startCliProcess(['backup', BIG.userid, '-c', config]);
    t.after(() => void forced.child.kill('SIGKILL'));
    // Whatever happens below, the later tests need backupd.
    t.after(() => bed.startBackupd().catch(() => undefined));
    // backupd writes the messages it applied to big's data file and commits them as a chunk when it is
    // stopped: once the data file holds some, a graceful stop leaves a chunk with part of the mail.
    await waitFor(() => dataFileBytes(bed, BIG.userid) >= 50_000, { what: 'backupd writing big\'s first messages to its data file', timeoutMs: 120_000, intervalMs: 10 });
    await bed.stopBackupd();
    const code = await forced.exited;
    assert.equal(code, 1, forced.output().stdout + forced.output().stderr);
    const partial = await messagesInBackup(bed, BIG.userid);
    assert.ok(partial > 0 && partial < BIG.messages, `backupd committed part of big's mail (${partial} of ${BIG.messages} messages): the case under test`);

    const during = (await reportUsers(config)).find((u) => u.userid === BIG.userid)!;
    assert.equal(during.state, 'missing', JSON.stringify(during));
    // What a restore would lack: every message past the last UID the backup's INBOX row holds. Seen on 3.6
    // and 3.10: backupd records a mailbox (and which messages are in it) only when its APPLY MAILBOX comes,
    // after all its messages, so the part committed holds message bodies in no mailbox: behind by all of them.
    const held = await inboxLastUid(BIG.userid);
    const { behind } = JSON.parse((await runCliProcess(['report', '--json', '-c', config])).stdout).users.find((u: { userid: string }) => u.userid === BIG.userid);
    t.diagnostic(`partial backup: ${partial} messages in the index, its INBOX row up to UID ${held}; behind ${JSON.stringify(behind)}`);
    assert.deepEqual({ mailboxes: behind.mailboxes, messages: behind.messages }, { mailboxes: 1, messages: BIG.messages - held });
    if (held === 0) assert.ok(behind.bytes >= BIG.messages * BIG.messageBytes, `the whole INBOX's size: ${behind.bytes}`);
    else assert.equal(behind.bytes, null, 'the size of the messages past the last UID is not known');
    assert.match(during.error!, /chunk 1 came from an attempt that failed or lost its connection, and may hold only part of the mail/);
    const dryRun = await runCliProcess(['bootstrap', '--dry-run', '-c', config]);
    assert.match(dryRun.stdout, new RegExp(`\\b${BIG.userid}\\b`), `bootstrap --dry-run still lists big\n${dryRun.stdout}`);

    await bed.startBackupd();
    const runs: string[] = [];
    await waitFor(
      async () => {
        const again = await runCliProcess(['bootstrap', '-c', config], { timeoutMs: 120_000 });
        runs.push(`exit ${again.code}: ${again.stdout.trim()}`);
        return (await reportUsers(config)).find((u) => u.userid === BIG.userid)?.state === 'fresh';
      },
      { what: 'big fresh once backupd is back', timeoutMs: 120_000, intervalMs: 1100, describe: () => runs.join('\n') },
    );
    assert.equal(await messagesInBackup(bed, BIG.userid), BIG.messages, 'every message is in the backup once it succeeded');
    const after = (await reportUsers(config)).find((u) => u.userid === BIG.userid)!;
    assert.equal(after.error, null, JSON.stringify(after));
  });

  test('a newest chunk dated a year ahead is not believed, and only a new chunk verifies the next backup', async () => {
    const config = writeBedConfig(bed, join(work, 'future'), { servers: [{ which: 'imap1', settings: { users: ['fut'] } }] });
    // Backed up outside the scheduler: the index is all there is to go by.
    assert.equal((await bed.xbackup('user.fut')).status, 'OK');
    const dataFile = (await bed.cyrDbtoolShowBackupsDb()).get('fut')!;
    // As backupd's own user, as a clock a year ahead would have written it.
    execFileSync('sqlite3', [`${dataFile}.index`, 'UPDATE chunk SET ts_end = ts_end + 31536000 WHERE id = (SELECT max(id) FROM chunk)'], bed.backupAccount);

    const seen = (await reportUsers(config)).find((u) => u.userid === 'fut')!;
    assert.equal(seen.state, 'stale', JSON.stringify(seen));
    assert.equal(seen.ageSeconds, null);
    assert.match(seen.error!, /in the future: not believed/);
    const nagios = await runCliProcess(['report', '--format', 'nagios', '-c', config]);
    assert.equal(nagios.code, 1, nagios.stdout);
    assert.match(nagios.stdout, /1 backup dated in the future/);
    const plan = await runCliProcess(['plan', '-c', config]);
    assert.match(plan.stdout, /refresh fut/, plan.stdout);

    const chunkBefore = await newestChunk('fut');
    const again = await runCliProcess(['backup', 'fut', '-c', config]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^OK fut /m);
    assert.equal(await newestChunk('fut'), chunkBefore + 1);
    const now = (await reportUsers(config)).find((u) => u.userid === 'fut')!;
    assert.equal(now.state, 'fresh', JSON.stringify(now));
    assert.equal(now.error, null);
  });

  test('commands that timed out but completed are successes, in the history and in the failures in a row', { timeout: 120_000 }, async () => {
    const dir = join(work, 'in-doubt');
    const config = writeBedConfig(bed, dir, { servers: [{ which: 'imap1', settings: { users: ['d002'], commandTimeout: '1s' } }] });
    for (let i = 1; i <= 4; i++) {
      const chunkBefore = await newestChunk('d002');
      // A stopped backupd holds the XBACKUP past our 1 s; resumed, it finishes the work the client gave up on.
      bed.pauseBackupd();
      let timedOut;
      try {
        timedOut = await runCliProcess(['backup', 'd002', '-c', config]);
      } finally {
        bed.resumeBackupd();
      }
      assert.equal(timedOut.code, 1, timedOut.stdout + timedOut.stderr);
      assert.match(timedOut.stdout, /^ERROR d002 .*\[in doubt/m);
      await waitFor(async () => (await newestChunk('d002')) > chunkBefore, { what: `attempt ${i}'s chunk in d002's index`, timeoutMs: 60_000 });
    }
    const users = await reportUsers(config);
    const d002 = users.find((u) => u.userid === 'd002')!;
    assert.equal(d002.state, 'fresh', JSON.stringify(d002));
    assert.equal(d002.lastAttempt?.outcome, 'ok');
    assert.match(d002.lastAttempt!.error!, /settled: the server finished it/);
    const nagios = await runCliProcess(['report', '--format', 'nagios', '--no-discovery', '-c', config]);
    assert.match(nagios.stdout, / failing=0 /);

    const attempts = readAttempts(join(dir, 'state.db')).filter((a) => a.userid === 'd002');
    assert.equal(attempts.length, 4);
    assert.deepEqual(attempts.slice(0, 3).map((a) => a.outcome), ['ok', 'ok', 'ok'], 'each earlier attempt was settled before the next one counted');
  });

  test('users created between discoveries are never swept into a wildcard', { timeout: 180_000 }, async (t) => {
    const dir = join(work, 'sweep');
    const early = ['n1', 'n3', 'n5'];
    for (const userid of early) await bed.createUser(userid, { messages: 1 });
    assert.equal((await bed.xbackup('user.n*')).status, 'OK');
    const config = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { users: ['n*'] } }],
      extra: 'policy:\n  schedule: "* * * * * *"\n  maxAge: 1s\n  discoverEvery: 1h\n',
    });
    const run = startCliProcess(['run', '-c', config]);
    t.after(() => void run.child.kill('SIGKILL'));
    const refreshedAfter = (since: number) => () => {
      const a = readAttemptsIfAny(join(dir, 'state.db'));
      return early.every((u) => a.some((x) => x.userid === u && x.kind === 'refresh' && x.outcome === 'ok' && x.started_at > since));
    };
    await waitFor(refreshedAfter(0), { what: 'the first cycle to refresh n1, n3 and n5', timeoutMs: 60_000, describe: () => run.output().stdout.slice(-2000) });
    // At several places by name: before, between and after the users the wildcard covers.
    const created = ['n0', 'n2', 'n4x', 'n9'];
    for (const userid of created) await bed.createUser(userid, { messages: 1 });
    const createdAt = Date.now();
    await waitFor(refreshedAfter(createdAt), { what: 'two more cycles to refresh n1, n3 and n5', timeoutMs: 60_000 });
    const since = Date.now();
    await waitFor(refreshedAfter(since), { what: 'one cycle more', timeoutMs: 60_000 });
    run.child.kill('SIGTERM');
    await run.exited;

    const backedUp = await bed.cyrDbtoolShowBackupsDb();
    for (const userid of created) assert.equal(backedUp.get(userid), undefined, `${userid} was not backed up behind the bootstrap's back`);
    const attempts = readAttempts(join(dir, 'state.db'));
    assert.deepEqual(attempts.filter((a) => created.includes(a.userid)), [], 'no attempt for a user the discovery has not seen');
    assert.match(run.output().stdout, /users created since the last discovery would be swept into a wildcard/);
  });
});

function readAttemptsIfAny(state: string) {
  try {
    return readAttempts(state);
  } catch {
    return [];
  }
}
