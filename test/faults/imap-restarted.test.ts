// Fault: the IMAP server's master restarted while `run` is going and a large user's first XBACKUP is
// in flight on it. What a user must see: `run` keeps going, the commands cut short are recorded as
// failed (the one in flight in doubt) with a clear error, the next cycles log in again by
// themselves, every user is fresh again within a bound, and SIGTERM leaves no attempt open.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { startCliProcess } from '../support/run-cli.js';
import { attemptsSoFar, messagesInBackup, reportUsers, seconds, stagedFiles } from './support/fault-checks.js';
import { waitFor } from '../support/wait-for.js';
import { useBed } from '../support/use-bed.js';

const SMALL = ['r1', 'r2', 'r3', 'r4', 'r5'];
/** 1,000 messages of 100 kB: its first backup takes about 1.5 s on an idle machine, long enough to restart imapd under it. */
const BIG = { userid: 'rbig', messages: 1_000, messageBytes: 100_000 };
const TEST_TIMEOUT_MS = 240_000;

describe('fault: the IMAP server restarted while run is going', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-fault-imap-restarted-',
    async setup() {
      for (const userid of SMALL) await bed.createUser(userid, { messages: 2 });
      await bed.createUser(BIG.userid, { messages: BIG.messages, messageBytes: BIG.messageBytes });
    },
  });

  test('run keeps going, the cut commands fail with a clear error, sessions reconnect, all fresh again, nothing left open', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const dir = join(work, 'run');
    const state = join(dir, 'state.db');
    const config = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { maxConcurrent: 2 } }],
      extra:
        'policy:\n  schedule: "*/2 * * * * *"\n  maxAge: 6s\n' +
        'retry:\n  baseDelay: 1s\n  maxDelay: 4s\n  inDoubtGrace: 5s\n' +
        'bootstrap:\n  groupSize: 5\n  pause: 0s\n',
    });
    const running = startCliProcess(['run', '-c', config]);
    t.after(() => void running.child.kill('SIGKILL'));
    let exited = false;
    void running.exited.then(() => (exited = true));
    const alive = () => {
      if (exited) assert.fail(`run exited\n${running.output().stdout.slice(-4000)}${running.output().stderr}`);
    };

    // The small users' group goes first (smallest first), then rbig's first backup: restart under it.
    await waitFor(
      () => {
        alive();
        const attempts = attemptsSoFar(state);
        const smallDone = SMALL.every((u) => attempts.some((a) => a.userid === u && a.outcome === 'ok'));
        return smallDone && attempts.some((a) => a.userid === BIG.userid && a.ended_at === null) && stagedFiles(bed) >= 100;
      },
      { what: `${BIG.userid}'s first backup in flight after the small users were backed up`, timeoutMs: 90_000, intervalMs: 20 },
    );
    const restartAt = Date.now();
    await bed.restartImap();
    const backAt = Date.now();
    await bed.disconnect();
    alive();

    // The command in flight was cut: rbig's attempt ended, failed, with a clear error, and in doubt.
    const cut = await waitFor(
      () => {
        alive();
        const a = attemptsSoFar(state).find((x) => x.userid === BIG.userid && x.started_at < restartAt);
        return a && a.ended_at !== null ? a : undefined;
      },
      { what: `${BIG.userid}'s cut attempt recorded`, timeoutMs: 60_000 },
    );
    assert.notEqual(cut.outcome, 'ok', `the cut first backup is not counted as a backup: ${JSON.stringify(cut)}`);
    assert.match(cut.error ?? '', /^imap1: XBACKUP user\.rbig backup: connection lost before the tagged answer: .*the users not yet reported may still be backed up by the server/, `the error says the connection to imap1 was lost mid-XBACKUP: ${JSON.stringify(cut)}`);
    assert.equal(cut.in_doubt, 1, `imapd may have gone on with it, so the user is in doubt: ${JSON.stringify(cut)}`);
    assert.match(running.output().stdout, /"msg":"server paused"/, 'the breaker pauses imap1 after the dropped connection');
    // One restart is not the "channel probably not configured" pattern (two drops in a row).
    assert.doesNotMatch(running.output().stdout, /dropped \d+ times in a row/, 'a single restart is not reported as a missing channel');

    // Recovered: every user backed up and verified again after imapd came back, and fresh by a maxAge that
    // reaches back to the restart and no further (the config's 6 s only keeps them due, cycle after cycle).
    const sinceBack = () => ['--max-age', `${Math.ceil((Date.now() - backAt) / 1000) + 1}s`];
    await waitFor(
      async () => {
        alive();
        const attempts = attemptsSoFar(state);
        const again = [...SMALL, BIG.userid].every((u) => attempts.some((a) => a.userid === u && a.outcome === 'ok' && a.started_at >= backAt));
        return again && (await reportUsers(config, sinceBack())).every((u) => u.state === 'fresh');
      },
      {
        what: 'every user backed up again after the restart and fresh',
        timeoutMs: 120_000,
        intervalMs: 250,
        describe: async () => JSON.stringify((await reportUsers(config, sinceBack())).map((u) => [u.userid, u.state, u.ageSeconds, u.lastAttempt?.outcome])),
      },
    );
    const recovery = Date.now() - backAt;
    alive();

    running.child.kill('SIGTERM');
    const code = await waitFor(() => (exited ? running.exited : undefined), { what: 'run to exit after SIGTERM', timeoutMs: 90_000 });
    assert.equal(code, 0, running.output().stderr);
    const attempts = attemptsSoFar(state);
    assert.deepEqual(attempts.filter((a) => a.ended_at === null), [], 'every attempt is closed after SIGTERM');

    // What the restart did: every attempt that overlapped it, and what happened to each.
    const hit = attempts.filter((a) => a.started_at < backAt && a.ended_at! >= restartAt);
    for (const a of hit) assert.ok(a.outcome === 'ok' || (a.error ?? '') !== '', `a failed attempt carries an error: ${JSON.stringify(a)}`);
    const failedUsers = [...new Set(hit.filter((a) => a.outcome !== 'ok').map((a) => a.userid))];
    assert.ok(failedUsers.includes(BIG.userid), JSON.stringify(hit));
    const messages = await messagesInBackup(bed, BIG.userid);
    assert.equal(messages, BIG.messages, 'every message of rbig is in its backup');
    for (const u of SMALL) assert.equal(await messagesInBackup(bed, u), 2, `${u}'s backup holds its mail`);
    const outcomes = hit.map((a) => `${a.userid}:${a.outcome}${a.in_doubt ? '(in doubt)' : ''}`).join(' ');
    console.log(
      `imap restart (${seconds(backAt - restartAt)} down): attempts hit ${outcomes}; users affected ${failedUsers.length} (${failedUsers.join(', ')}); ` +
        `cut attempt error "${cut.error}"; data lost ${BIG.messages - messages} messages; recovery (imapd back -> all verified and fresh) ${seconds(recovery)}`,
    );
  });
});
