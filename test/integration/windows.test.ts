// bootstrap.window, policy.window and bootstrap.maxBytesPerWindow against real Cyrus: what a closed window
// or a used-up budget holds back is proven by what did not happen (no attempt in the state database, no
// backup in backups.db, no new chunk), what an open one lets through by what did. The CLI runs with TZ set
// to a zone 5 h 45 min off UTC, and each window is computed from the clock at least two hours from its edges,
// so no test waits for the clock and a window read in UTC instead of local time would flip the result.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess, type CliResult } from '../support/run-cli.js';
import { readAttempts } from '../support/state-db-reader.js';
import { waitFor } from '../support/wait-for.js';
import { useBed } from '../support/use-bed.js';
import { closedWindow, openWindow, TZ } from '../support/local-windows.js';

const env = { TZ };

interface ReportUser {
  userid: string;
  state: string;
  chunks: number | null;
  lastBackup: string | null;
}

async function cli(args: string[]): Promise<CliResult> {
  return runCliProcess(args, { env, timeoutMs: 120_000 });
}

async function reportUsers(config: string): Promise<ReportUser[]> {
  const r = await cli(['report', '--json', '-c', config]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { users: ReportUser[] }).users;
}

async function heldInPlan(config: string): Promise<Map<string, { reason: string; detail: string; until?: string }>> {
  const r = await cli(['plan', '--json', '-c', config]);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as { held: Array<{ userid: string; reason: string; detail: string; until?: string }> };
  return new Map(plan.held.map((h) => [h.userid, h]));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('windows and budgets: run --once, plan and bootstrap against real Cyrus', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-windows-',
    async setup() {
      for (const u of ['wc1', 'wc2', 'wc3']) await bed.createUser(u, { messages: 2 });
      for (const u of ['pw1', 'pw2']) await bed.createUser(u, { messages: 2 });
      // 150, 200, 250 and 300 kB of mail: under a 400 KiB budget the two smallest fit, the third would not.
      for (const [i, u] of ['bb1', 'bb2', 'bb3', 'bb4'].entries()) await bed.createUser(u, { messages: 3 + i, messageBytes: 50_000 });
    },
  });

  test('bootstrap.window closed: run --once, bootstrap and plan send no XBACKUP and say when it opens; opened, run --once backs them up', async () => {
    const dir = join(work, 'bootstrap-window');
    const users = ['wc1', 'wc2', 'wc3'];
    const closed = closedWindow();
    const config = (window: string) => writeBedConfig(bed, dir, { servers: [{ which: 'imap1', settings: { users: ['wc*'] } }], extra: `bootstrap:\n  window: "${window}"\n` });
    config(closed.text);
    const file = join(dir, 'config.yaml');
    const closedWords = new RegExp(`bootstrap\\.window ${escape(closed.text)} is closed: first backups wait until it opens at ${closed.start} local time, \\S+Z \\(\\d+h`);

    const once = await cli(['run', '--once', '-c', file]);
    assert.equal(once.code, 0, `a closed window is the admin's pacing, not a failure\n${once.stdout}${once.stderr}`);
    assert.match(once.stdout, new RegExp(`"reason":"bootstrap-window","users":3,.*"msg":"held: ${closedWords.source}`));

    const forced = await cli(['bootstrap', '-c', file]);
    assert.equal(forced.code, 1, forced.stdout + forced.stderr);
    assert.match(forced.stderr, new RegExp(`^left for later: 3 users \\(wc1, wc2, wc3\\): bootstrap-window: ${closedWords.source}`, 'm'));
    assert.match(forced.stdout, /^bootstrap: 0 ok, 0 failed, 3 left for later$/m);

    const dry = await cli(['bootstrap', '--dry-run', '-c', file]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^bootstrap\\.window ${escape(closed.text)} is closed now: no first backup starts before it opens at ${closed.start} local time`, 'm'));
    assert.match(dry.stdout, /^group 1 \(.*\): wc1@imap1, wc2@imap1, wc3@imap1$/m);

    const held = await heldInPlan(file);
    for (const u of users) {
      assert.equal(held.get(u)?.reason, 'bootstrap-window', u);
      assert.match(held.get(u)!.detail, closedWords);
    }
    // What really happened: nothing. No attempt recorded, no backup on the backup server, history empty.
    assert.deepEqual(readAttempts(join(dir, 'state.db')), []);
    const backups = await bed.cyrDbtoolShowBackupsDb();
    for (const u of users) assert.equal(backups.has(u), false, `${u} has no backup`);
    const history = await cli(['history', 'wc1', '--json', '-c', file]);
    assert.equal(history.code, 0, history.stderr);
    assert.equal(history.stdout.trim(), '');

    config(openWindow().text);
    const opened = await cli(['run', '--once', '-c', file]);
    assert.equal(opened.code, 0, opened.stdout + opened.stderr);
    const attempts = readAttempts(join(dir, 'state.db'));
    assert.deepEqual(attempts.map((a) => [a.userid, a.kind, a.outcome]).sort(), users.map((u) => [u, 'first', 'ok']));
    const after = await bed.cyrDbtoolShowBackupsDb();
    for (const u of users) assert.ok(after.has(u), `${u} is backed up`);
    assert.deepEqual((await reportUsers(file)).filter((u) => users.includes(u.userid)).map((u) => u.state), ['fresh', 'fresh', 'fresh']);
  });

  test('policy.window closed: a stale user gets no XBACKUP and no new chunk; opened, it is refreshed', async () => {
    const dir = join(work, 'policy-window');
    const users = ['pw1', 'pw2'];
    const config = (window: string) =>
      writeBedConfig(bed, dir, { servers: [{ which: 'imap1', settings: { users: ['pw*'] } }], extra: `policy:\n  maxAge: 1s\n  window: "${window}"\n` });
    const file = config(openWindow().text);
    const seed = await cli(['run', '--once', '-c', file]);
    assert.equal(seed.code, 0, seed.stdout + seed.stderr);
    assert.equal(readAttempts(join(dir, 'state.db')).length, 2, 'both backed up first');
    // New mail after the backup: behind their mailboxes and older than maxAge, they are stale.
    for (const u of users) await bed.appendMessages(u, 1, 2000);
    let seen: ReportUser[] = [];
    await waitFor(
      async () => {
        seen = (await reportUsers(file)).filter((u) => users.includes(u.userid));
        return seen.length === 2 && seen.every((u) => u.state === 'stale');
      },
      { what: 'pw1 and pw2 stale', timeoutMs: 60_000, describe: () => JSON.stringify(seen) },
    );

    const closed = closedWindow();
    config(closed.text);
    const once = await cli(['run', '--once', '-c', file]);
    assert.equal(once.code, 0, once.stdout + once.stderr);
    const closedWords = new RegExp(`policy\\.window ${escape(closed.text)} is closed: refreshes of users already backed up wait until it opens at ${closed.start} local time`);
    assert.match(once.stdout, new RegExp(`"reason":"policy-window","users":2,.*"msg":"held: ${closedWords.source}`));
    assert.equal(readAttempts(join(dir, 'state.db')).length, 2, 'no XBACKUP while policy.window is closed');
    const after = (await reportUsers(file)).filter((u) => users.includes(u.userid));
    assert.deepEqual(
      after.map((u) => [u.userid, u.chunks, u.lastBackup]),
      seen.map((u) => [u.userid, u.chunks, u.lastBackup]),
      'no new chunk in their indexes',
    );
    const held = await heldInPlan(file);
    for (const u of users) {
      assert.equal(held.get(u)?.reason, 'policy-window');
      assert.match(held.get(u)!.detail, closedWords);
    }

    config(openWindow().text);
    const opened = await cli(['run', '--once', '-c', file]);
    assert.equal(opened.code, 0, opened.stdout + opened.stderr);
    const refreshes = readAttempts(join(dir, 'state.db')).filter((a) => a.kind === 'refresh');
    assert.deepEqual(refreshes.map((a) => [a.userid, a.outcome]).sort(), users.map((u) => [u, 'ok']));
  });

  test('bootstrap.maxBytesPerWindow smaller than the mail: run --once backs up only the users that fit, the rest wait for the next opening', async () => {
    const dir = join(work, 'budget');
    const window = openWindow();
    const file = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { users: ['bb*'] } }],
      extra: `bootstrap:\n  window: "${window.text}"\n  maxBytesPerWindow: 400KiB\n  pause: 0s\n`,
    });
    const dryBefore = await cli(['bootstrap', '--dry-run', '-c', file]);
    assert.equal(dryBefore.code, 0, dryBefore.stderr);
    assert.match(dryBefore.stdout, /^now, while bootstrap\.window is open, bootstrap\.maxBytesPerWindow 400KiB:\ngroup 1 \(.*\): bb1@imap1, bb2@imap1\n/m);
    assert.match(dryBefore.stdout, new RegExp(`^when bootstrap\\.window opens at ${window.start} local time, .*bootstrap\\.maxBytesPerWindow 400KiB:\\ngroup 2 \\(.*\\): bb3@imap1\\n`, 'm'));
    assert.match(dryBefore.stdout, /^4 users in 3 groups; bootstrap\.maxBytesPerWindow 400KiB leaves 2 groups for 2 later openings$/m);

    for (let run = 1; run <= 2; run++) {
      const once = await cli(['run', '--once', '-c', file]);
      assert.equal(once.code, 0, once.stdout + once.stderr);
      assert.match(once.stdout, /"reason":"bootstrap-budget","users":2,.*"msg":"held: bootstrap\.maxBytesPerWindow 400KiB: /);
    }
    const attempts = readAttempts(join(dir, 'state.db'));
    assert.deepEqual(attempts.map((a) => [a.userid, a.outcome]).sort(), [['bb1', 'ok'], ['bb2', 'ok']], 'a second run in the same opening starts no one');
    const backups = await bed.cyrDbtoolShowBackupsDb();
    assert.deepEqual(['bb1', 'bb2', 'bb3', 'bb4'].map((u) => backups.has(u)), [true, true, false, false]);
    const held = await heldInPlan(file);
    for (const u of ['bb3', 'bb4']) {
      assert.equal(held.get(u)?.reason, 'bootstrap-budget');
      assert.match(held.get(u)!.detail, new RegExp(`the budget starts again at ${window.start} local time`));
    }

    const dryAfter = await cli(['bootstrap', '--dry-run', '-c', file]);
    assert.equal(dryAfter.code, 0, dryAfter.stderr);
    assert.match(dryAfter.stdout, /^now, while bootstrap\.window is open: no group, \S+ left of bootstrap\.maxBytesPerWindow 400KiB$/m);
    assert.match(dryAfter.stdout, /^when bootstrap\.window opens at .*\ngroup 1 \(.*\): bb3@imap1\nwhen bootstrap\.window opens at .*\ngroup 2 \(.*\): bb4@imap1$/m);
  });
});
