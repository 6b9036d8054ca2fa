import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess, startCliProcess, type RunningCli } from '../support/run-cli.js';
import { maxCommandsInFlight, readAttempts } from '../support/state-db-reader.js';
import { waitFor } from '../support/wait-for.js';
import { attemptsSoFar } from '../faults/support/fault-checks.js';
import { useBed } from '../support/use-bed.js';

interface ReportJson {
  users: Array<{ userid: string; state: string; ageSeconds: number | null; error: string | null }>;
}

async function report(config: string): Promise<ReportJson> {
  const r = await runCliProcess(['report', '--json', '-c', config]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ReportJson;
}

/** The `cycle end` lines a `run` has logged so far, with how long each cycle took. */
function cycleEnds(running: RunningCli): Array<{ seconds: number; attempted: number }> {
  return running
    .output()
    .stdout.split('\n')
    .filter((l) => l.includes('"msg":"cycle end"'))
    .map((l) => JSON.parse(l) as { seconds: number; attempted: number });
}

/** Stops a `run`; checked separately where the exit matters, so a failure above is not masked here. */
async function stop(running: RunningCli): Promise<number | string> {
  running.child.kill('SIGTERM');
  return running.exited;
}

describe('run: the long-lived scheduler against real Cyrus', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-run-',
    async setup() {
      for (let i = 1; i <= 12; i++) await bed.createUser(`k${String(i).padStart(2, '0')}`, { messages: 2 });
      for (let i = 1; i <= 6; i++) await bed.createUser(`f${i}`, { messages: 2 });
      for (let i = 1; i <= 6; i++) await bed.createUser(`d${i}`, { messages: 2 });
      await bed.createUser('slow', { messages: 500, messageBytes: 100_000 });
    },
  });

  test('a short schedule keeps every user younger than maxAge + one cycle for twenty cycles, with maxConcurrent 2 never exceeded', async () => {
    const MAX_AGE_S = 6;
    const PERIOD_S = 3;
    const CYCLES = 20;
    const dir = join(work, 'steady');
    const config = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { maxConcurrent: 2, users: ['k*'] } }],
      extra: `policy:\n  schedule: "*/${PERIOD_S} * * * * *"\n  maxAge: ${MAX_AGE_S}s\nbootstrap:\n  groupSize: 6\n  pause: 0s\n`,
    });
    const running = startCliProcess(['run', '-c', config]);
    let oldest = { ageSeconds: 0, userid: '' };
    try {
      // Let the bootstrap of the twelve users finish, then watch ages for twenty cycles (a minute when idle).
      let users: ReportJson['users'] = [];
      await waitFor(
        async () => {
          users = (await report(config)).users;
          return users.length === 12 && users.every((u) => u.state !== 'missing');
        },
        { what: 'the twelve users backed up', timeoutMs: 120_000, describe: () => JSON.stringify(users) },
      );
      const from = cycleEnds(running).length;
      await waitFor(
        async () => {
          for (const u of (await report(config)).users) {
            assert.notEqual(u.ageSeconds, null, `${u.userid} has a backup`);
            if (u.ageSeconds! > oldest.ageSeconds) oldest = { ageSeconds: u.ageSeconds!, userid: u.userid };
          }
          return cycleEnds(running).length >= from + CYCLES;
        },
        { what: `${CYCLES} cycles`, timeoutMs: CYCLES * PERIOD_S * 1000 * 10, intervalMs: 1000, describe: () => `${cycleEnds(running).length - from} cycles` },
      );
    } finally {
      await stop(running);
    }
    assert.equal(await running.exited, 0, running.output().stderr);
    // A user due just after a cycle began waits for that cycle to end and for the next tick, then for its
    // own refresh: maxAge + one period + two cycles' work, each as long as it took on this machine (+1 s of rounding).
    const longest = Math.max(...cycleEnds(running).map((c) => c.seconds));
    const bound = MAX_AGE_S + PERIOD_S + 2 * longest + 1;
    assert.ok(oldest.ageSeconds <= bound, `oldest age seen ${oldest.ageSeconds} s (${oldest.userid}); maxAge ${MAX_AGE_S} s + a ${PERIOD_S} s period + twice the longest cycle (${longest} s) + 1 s = ${bound.toFixed(1)} s`);
    const attempts = readAttempts(join(dir, 'state.db'));
    assert.ok(attempts.filter((a) => a.kind === 'refresh').length > 12, 'users were refreshed repeatedly');
    assert.ok(maxCommandsInFlight(attempts, 'imap1') <= 2);
  });

  test('a user whose XBACKUP keeps failing becomes failing after failingAfter attempts, on a backoff schedule; others are unaffected', async () => {
    const dir = join(work, 'failing');
    const config = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { users: ['f*'] } }],
      extra: 'policy:\n  schedule: "* * * * * *"\n  maxAge: 2s\n  failingAfter: 3\nretry:\n  baseDelay: 1s\n  maxDelay: 4s\nbootstrap:\n  pause: 0s\n',
    });
    const seed = await runCliProcess(['backup', 'f*', '-c', config]);
    assert.equal(seed.code, 0, seed.stdout + seed.stderr);
    // backupd cannot open f3's backup any more: every attempt for f3 fails, for a reason of its own.
    const dataFile = (await bed.cyrDbtoolShowBackupsDb()).get('f3')!;
    chmodSync(dataFile, 0);
    const running = startCliProcess(['run', '-c', config]);
    try {
      let f3: ReportJson['users'][number] | undefined;
      await waitFor(
        async () => {
          f3 = (await report(config)).users.find((u) => u.userid === 'f3');
          return f3?.state === 'failing';
        },
        { what: 'f3 failing', timeoutMs: 90_000, intervalMs: 500, describe: () => JSON.stringify(f3) },
      );
      const now = await report(config);
      assert.match(now.users.find((u) => u.userid === 'f3')!.error!, /3 failed attempts in a row|[4-9] failed attempts in a row/);
      const others = now.users.filter((u) => u.userid.startsWith('f') && u.userid !== 'f3') as Array<ReportJson['users'][number] & { lastAttempt: { outcome: string } | null }>;
      assert.equal(others.length, 5);
      assert.ok(others.every((u) => (u.state === 'fresh' || u.state === 'stale') && u.lastAttempt?.outcome === 'ok'), JSON.stringify(others.map((u) => [u.userid, u.state, u.lastAttempt])));
    } finally {
      await stop(running);
      chmodSync(dataFile, 0o600);
    }
    const f3Attempts = readAttempts(join(dir, 'state.db')).filter((a) => a.userid === 'f3' && a.kind === 'refresh');
    const gaps = f3Attempts.slice(1).map((a, i) => a.started_at - f3Attempts[i]!.started_at);
    assert.ok(gaps.length >= 2, 'retried');
    assert.ok(gaps.every((g) => g >= 700), `retries wait for the backoff (gaps ${gaps.join(', ')} ms), not every 1 s tick`);
  });

  test('backupd stopped during run: the server is paused and probed with backoff, and every user is refreshed again soon after it returns', async () => {
    const BASE_S = 1;
    const MAX_S = 8;
    const OUTAGE_CYCLES = 15;
    const dir = join(work, 'breaker');
    const config = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { users: ['d*'] } }],
      extra: `policy:\n  schedule: "* * * * * *"\n  maxAge: 2s\nretry:\n  baseDelay: ${BASE_S}s\n  maxDelay: ${MAX_S}s\nbootstrap:\n  pause: 0s\n`,
    });
    const running = startCliProcess(['run', '-c', config]);
    const state = join(dir, 'state.db');
    const dUsers = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'];
    const okSince = (since: number) => {
      const attempts = attemptsSoFar(state);
      return dUsers.every((u) => attempts.some((a) => a.userid === u && a.outcome === 'ok' && a.started_at >= since));
    };
    try {
      await waitFor(() => okSince(0), { what: 'the six d users backed up', timeoutMs: 60_000, intervalMs: 200, describe: () => running.output().stdout.slice(-2000) });
      await bed.stopBackupd();
      const downSince = Date.now();
      // The outage lasts a number of cycles: unpaused, each would send the due users another XBACKUP.
      const cyclesBefore = cycleEnds(running).length;
      await waitFor(() => cycleEnds(running).length >= cyclesBefore + OUTAGE_CYCLES, {
        what: `${OUTAGE_CYCLES} cycles with backupd down`,
        timeoutMs: 300_000,
        describe: () => running.output().stdout.slice(-2000),
      });
      const outageMs = Date.now() - downSince;
      const cycles = cycleEnds(running).length - cyclesBefore;
      const during = readAttempts(state).filter((a) => a.started_at >= downSince);
      const commands = new Set(during.map((a) => `${a.pattern}@${a.started_at}`));
      assert.ok(during.some((a) => a.outcome !== 'ok'), 'attempts failed while backupd was down');
      // Each failed probe pauses the server for base × 2^(n−1) (at most max), less 20 % of jitter at worst: in
      // this outage, however long the machine made it, that allows this many commands (one more for a command
      // that was already on its way when the pause began).
      let allowed = 1;
      for (let spent = 0, n = 1; (spent += 0.8 * Math.min(MAX_S, BASE_S * 2 ** (n - 1)) * 1000) <= outageMs; n++) allowed++;
      allowed++;
      assert.ok(commands.size <= allowed, `${commands.size} XBACKUP commands in ${outageMs} ms of outage; the backoff allows ${allowed}`);
      assert.match(running.output().stdout, /"msg":"server paused"/);
      await bed.startBackupd();
      const backAt = Date.now();
      const cyclesAtReturn = cycleEnds(running).length;
      await waitFor(() => okSince(backAt), { what: 'every d user backed up and verified after backupd returned', timeoutMs: 120_000, intervalMs: 250, describe: () => JSON.stringify(attemptsSoFar(state).filter((a) => a.started_at >= backAt)) });
      // The server's pause and each user's own retry delay are at most maxDelay: a cycle a second brings
      // the first probe within MAX_S cycles of the return, and the users' own delays within MAX_S more.
      const cyclesToRecover = cycleEnds(running).length - cyclesAtReturn;
      assert.ok(cyclesToRecover <= 2 * MAX_S + 3, `every user refreshed ${cyclesToRecover} cycles after backupd returned`);
      console.log(`breaker: ${commands.size} commands in ${cycles} cycles (${(outageMs / 1000).toFixed(1)} s) of outage; every user refreshed ${((Date.now() - backAt) / 1000).toFixed(1)} s (${cyclesToRecover} cycles) after backupd returned`);
    } finally {
      await bed.startBackupd().catch(() => undefined);
      await stop(running);
    }
  });

  test('SIGTERM during a long XBACKUP waits for it, records it, and exits 0', async () => {
    const dir = join(work, 'sigterm');
    const config = writeBedConfig(bed, dir, { servers: [{ which: 'imap1', settings: { users: ['slow'] } }], extra: 'policy:\n  shutdownGrace: 60s\n' });
    const running = startCliProcess(['run', '-c', config]);
    const state = join(dir, 'state.db');
    await waitFor(() => attemptsSoFar(state).some((a) => a.ended_at === null), { what: "slow's XBACKUP in flight", timeoutMs: 60_000, intervalMs: 25, describe: () => running.output().stdout.slice(-2000) });
    running.child.kill('SIGTERM');
    assert.equal(await running.exited, 0, running.output().stderr);
    const [attempt] = readAttempts(state);
    assert.equal(attempt?.userid, 'slow');
    assert.equal(attempt?.outcome, 'ok', 'the XBACKUP in flight finished and was recorded');
    assert.match(running.output().stdout, /"xbackupsInFlight":1,"msg":"stopping: no new work, waiting for XBACKUPs in flight"/);
  });
});
