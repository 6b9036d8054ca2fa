// Fault: backupd (its master and every child) killed with SIGKILL while it receives a large user's
// first backup, driven by `bootstrap`. What a user must see: the attempt closed as failed with a
// clear error (never left open, never counted as a backup), the tool exiting normally, and, once
// backupd is back, a later bootstrap backing the user up in full (every appended message in the
// backup's index, backupd's own verify passing).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess, startCliProcess } from '../support/run-cli.js';
import { attemptsSoFar, ctlBackupsList, messagesInBackup, reportUsers, seconds, stagedFiles } from './support/fault-checks.js';
import { waitFor } from '../support/wait-for.js';
import { useBed } from '../support/use-bed.js';

/**
 * 2,000 messages of 100 kB (200 MB of mail) take about 3 s to back up the first time on an idle
 * 2-core machine (about 70 MB/s into a tmpfs bed): long enough to be caught in flight by polling.
 */
const BIG = { userid: 'big', messages: 2_000, messageBytes: 100_000 };
const SMALL = ['s1', 's2'];
const TEST_TIMEOUT_MS = 240_000;

/** Messages staged by backupd that show big's transfer well under way (see stagedFiles). */
const STAGED_IN_FLIGHT = 300;

describe('fault: backupd SIGKILLed during a first backup', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-fault-backupd-killed-',
    async setup() {
      for (const userid of SMALL) await bed.createUser(userid, { messages: 3 });
      await bed.createUser(BIG.userid, { messages: BIG.messages, messageBytes: BIG.messageBytes });
    },
  });

  test('the attempt is closed as failed with a clear error, bootstrap exits 1, and a later bootstrap backs the user up in full', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const dir = join(work, 'bootstrap');
    const state = join(dir, 'state.db');
    // Smallest first, one user per group: s1 and s2 are done before big's first backup starts.
    const config = writeBedConfig(bed, dir, {
      extra: 'retry:\n  baseDelay: 1s\n  maxDelay: 2s\n  inDoubtGrace: 5s\nbootstrap:\n  groupSize: 1\n  pause: 0s\n',
    });

    const first = startCliProcess(['bootstrap', '-c', config]);
    t.after(() => void first.child.kill('SIGKILL'));
    let exitedEarly = false;
    void first.exited.then(() => (exitedEarly = true));
    // In flight: big's attempt is open and backupd has begun staging its messages.
    await waitFor(
      () => {
        if (exitedEarly) assert.fail(`bootstrap ended before big's backup could be caught in flight; make BIG larger\n${first.output().stdout}${first.output().stderr}`);
        const open = attemptsSoFar(state).some((a) => a.userid === BIG.userid && a.ended_at === null);
        return open && stagedFiles(bed) >= STAGED_IN_FLIGHT;
      },
      { what: `big's first backup in flight (open attempt row and ${STAGED_IN_FLIGHT} messages staged in ${bed.backup.stagingDir})`, timeoutMs: 90_000, intervalMs: 20 },
    );
    const killedAt = Date.now();
    await bed.killBackupd();

    const code = await waitFor(() => (exitedEarly ? first.exited : undefined), {
      what: 'bootstrap to exit after backupd was killed',
      timeoutMs: 60_000,
      describe: () => first.output().stdout,
    });
    const { stdout, stderr } = first.output();
    const show = `exit ${code}\n--- stdout\n${stdout}--- stderr\n${stderr}`;
    assert.equal(code, 1, `bootstrap reports the failure with exit 1, and does not crash\n${show}`);
    assert.doesNotMatch(stderr, /\n\s+at |TypeError|ReferenceError|unhandled/i, `no crash or stack trace\n${show}`);
    assert.match(stdout, /^bootstrap: 2 ok, 1 failed, [01] left for later$/m, show);

    const attempts = readAttemptsOnce(state);
    assert.deepEqual(attempts.filter((a) => a.ended_at === null), [], 'no attempt is left open once bootstrap has exited');
    for (const userid of SMALL) assert.equal(attempts.find((a) => a.userid === userid)?.outcome, 'ok', `${userid} was backed up before the fault`);
    const killed = attempts.filter((a) => a.userid === BIG.userid);
    assert.equal(killed.length, 1, JSON.stringify(attempts));
    const [attempt] = killed;
    assert.ok(attempt!.outcome === 'no' || attempt!.outcome === 'error', `big's attempt failed: ${JSON.stringify(attempt)}`);
    assert.ok(attempt!.error && attempt!.error.length > 0, 'the failure carries an error');
    const line = stdout.split('\n').find((l) => l.startsWith(`NO ${BIG.userid} `) || l.startsWith(`ERROR ${BIG.userid} `));
    assert.ok(line, `a line about big's failure\n${show}`);
    // Cyrus answers `* NO USER big (Bad protocol)`: the user must learn that backupd broke off.
    assert.match(line, /backupd/, `the error points at backupd\n${show}`);
    console.log(`backupd killed ${seconds(killedAt - attempt!.started_at)} into big's first backup; bootstrap exited ${code} after ${seconds(attempt!.ended_at! - killedAt)}: ${line}`);

    // While backupd is down, nothing may pass big off as backed up.
    const during = (await reportUsers(config)).find((u) => u.userid === BIG.userid);
    assert.ok(during && during.state !== 'fresh' && during.state !== 'stale', `big is not shown as backed up: ${JSON.stringify(during)}`);
    assert.equal(during.lastAttempt?.outcome, attempt!.outcome, JSON.stringify(during));

    await bed.startBackupd();
    const backAt = Date.now();
    const runs: string[] = [];
    await waitFor(
      async () => {
        const again = await runCliProcess(['bootstrap', '-c', config], { timeoutMs: 120_000 });
        runs.push(`exit ${again.code}: ${again.stdout.trim()} ${again.stderr.trim()}`);
        assert.ok(again.code === 0 || again.code === 1, `bootstrap does not crash: ${runs.at(-1)}`);
        return (await reportUsers(config)).every((u) => u.state === 'fresh');
      },
      { what: 'big fresh after backupd came back', timeoutMs: 120_000, intervalMs: 500, describe: () => runs.join('\n') },
    );
    const recovery = Date.now() - backAt;

    const users = await reportUsers(config);
    const bigNow = users.find((u) => u.userid === BIG.userid)!;
    assert.equal(bigNow.lastAttempt?.outcome, 'ok', JSON.stringify(bigNow));
    assert.deepEqual(readAttemptsOnce(state).filter((a) => a.ended_at === null), [], 'no attempt is left open');
    const listed = await ctlBackupsList(bed);
    for (const userid of [...SMALL, BIG.userid]) assert.ok(listed.get(userid), `ctl_backups -j list shows a backup of ${userid}`);
    const verify = await bed.ctlBackups(['verify', BIG.userid], { timeoutMs: 120_000 });
    assert.equal(verify.code, 0, `ctl_backups verify big: ${verify.stdout}${verify.stderr}`);
    const messages = await messagesInBackup(bed, BIG.userid);
    assert.equal(messages, BIG.messages, 'every appended message is in the backup');
    console.log(
      `backupd killed: tool recorded big as ${attempt!.outcome} ("${attempt!.error}"), report showed big ${during.state} while backupd was down, users affected 1 (big), ` +
        `data lost ${BIG.messages - messages} messages; recovery (backupd back -> big fresh) ${seconds(recovery)} over ${runs.length} bootstrap run(s); ${stagedFiles(bed)} files left in backupd's staging dir by the killed backupd`,
    );
  });
});

function readAttemptsOnce(state: string) {
  const attempts = attemptsSoFar(state);
  assert.ok(attempts.length > 0, `the state database ${state} has attempts`);
  return attempts;
}
