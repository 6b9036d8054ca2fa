import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess, startCliProcess, type RunningCli } from '../support/run-cli.js';
import { maxCommandsInFlight, readAttempts } from '../support/state-db-reader.js';
import { useBed } from '../support/use-bed.js';

interface ReportJson {
  users: Array<{ userid: string; state: string; ageSeconds: number | null; error: string | null }>;
}

async function report(config: string): Promise<ReportJson> {
  const r = await runCliProcess(['report', '--json', '-c', config]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ReportJson;
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

  test('a short schedule keeps every user younger than maxAge + one cycle for a minute, with maxConcurrent 2 never exceeded', async () => {
    const dir = join(work, 'steady');
    const config = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { maxConcurrent: 2, users: ['k*'] } }],
      extra: 'policy:\n  schedule: "*/3 * * * * *"\n  maxAge: 6s\nbootstrap:\n  groupSize: 6\n  pause: 0s\n',
    });
    const running = startCliProcess(['run', '-c', config]);
    try {
      // Let the bootstrap of the twelve users finish, then watch ages for a minute.
      for (let i = 0; i < 100 && (await report(config)).users.some((u) => u.state === 'missing'); i++) await sleep(200);
      let oldest = 0;
      const until = Date.now() + 60_000;
      while (Date.now() < until) {
        for (const u of (await report(config)).users) {
          assert.notEqual(u.ageSeconds, null, `${u.userid} has a backup`);
          oldest = Math.max(oldest, u.ageSeconds!);
        }
        await sleep(1000);
      }
      assert.ok(oldest <= 6 + 3 + 1, `oldest age seen ${oldest} s; maxAge 6 s + one 3 s cycle (+1 s of rounding)`);
    } finally {
      await stop(running);
    }
    assert.equal(await running.exited, 0, running.output().stderr);
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
      let f3 = '';
      for (let i = 0; i < 60 && f3 !== 'failing'; i++) {
        await sleep(500);
        f3 = (await report(config)).users.find((u) => u.userid === 'f3')!.state;
      }
      assert.equal(f3, 'failing');
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

  test('backupd stopped during run: the server is paused and probed with backoff, and every user is fresh again soon after it returns', async () => {
    const dir = join(work, 'breaker');
    const config = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { users: ['d*'] } }],
      extra: 'policy:\n  schedule: "* * * * * *"\n  maxAge: 2s\nretry:\n  baseDelay: 1s\n  maxDelay: 8s\nbootstrap:\n  pause: 0s\n',
    });
    const running = startCliProcess(['run', '-c', config]);
    const state = join(dir, 'state.db');
    try {
      for (let i = 0; i < 100 && !(await report(config)).users.filter((u) => u.userid.startsWith('d')).every((u) => u.state === 'fresh'); i++) await sleep(200);
      await bed.stopBackupd();
      const downSince = Date.now();
      await sleep(15_000);
      const during = readAttempts(state).filter((a) => a.started_at >= downSince);
      const commands = new Set(during.map((a) => `${a.pattern}@${a.started_at}`));
      assert.ok(during.some((a) => a.outcome !== 'ok'), 'attempts failed while backupd was down');
      // Unpaused, 6 users due every 1 s tick would make dozens of commands in 15 s; the breaker allows a few probes.
      assert.ok(commands.size <= 6, `${commands.size} XBACKUP commands in 15 s of outage`);
      assert.match(running.output().stdout, /"msg":"server paused"/);
      await bed.startBackupd();
      const backAt = Date.now();
      let fresh = false;
      while (!fresh && Date.now() - backAt < 20_000) {
        await sleep(500);
        fresh = (await report(config)).users.filter((u) => u.userid.startsWith('d')).every((u) => u.state === 'fresh');
      }
      assert.ok(fresh, 'every user fresh again within 20 s of backupd returning, without a restart');
      console.log(`breaker: ${commands.size} commands during 15 s outage; all fresh ${((Date.now() - backAt) / 1000).toFixed(1)} s after backupd returned`);
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
    for (let i = 0; i < 200; i++) {
      await sleep(25);
      try {
        if (readAttempts(state).some((a) => a.ended_at === null)) break;
      } catch {
        // not created yet
      }
    }
    running.child.kill('SIGTERM');
    assert.equal(await running.exited, 0, running.output().stderr);
    const [attempt] = readAttempts(state);
    assert.equal(attempt?.userid, 'slow');
    assert.equal(attempt?.outcome, 'ok', 'the XBACKUP in flight finished and was recorded');
    assert.match(running.output().stdout, /"xbackupsInFlight":1,"msg":"stopping: no new work, waiting for XBACKUPs in flight"/);
  });
});
