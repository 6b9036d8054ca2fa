import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess, startCliProcess } from '../support/run-cli.js';
import { maxCommandsInFlight, readAttempts } from '../support/state-db-reader.js';
import { attemptsSoFar, stagedFiles } from '../faults/support/fault-checks.js';
import { waitFor } from '../support/wait-for.js';
import { useBed } from '../support/use-bed.js';

interface ReportJson {
  counts: Record<string, number>;
  users: Array<{ userid: string; state: string }>;
}

describe('bootstrap: first backups in small groups, against real Cyrus', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-bootstrap-',
    async setup() {
      for (let i = 1; i <= 30; i++) await bed.createUser(`u${String(i).padStart(2, '0')}`, { messages: 1 + (i % 7), messageBytes: 3000 });
      for (let i = 1; i <= 6; i++) await bed.createUser(`big${i}`, { messages: 150, messageBytes: 100_000 });
    },
  });

  test('30 users, --group-size 4: all backed up, never more than 4 first backups at once, groups one after another', async () => {
    const config = writeBedConfig(bed, join(work, 'groups'), {
      servers: [{ which: 'imap1', settings: { maxConcurrent: 3, users: ['u*'] } }],
      extra: 'bootstrap:\n  pause: 100ms\n',
    });
    const dry = await runCliProcess(['bootstrap', '--dry-run', '--group-size', '4', '-c', config]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^30 users in 8 groups$/m);

    const run = await runCliProcess(['bootstrap', '--group-size', '4', '-c', config], { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^bootstrap: 30 ok, 0 failed, 0 left for later$/m);

    const attempts = readAttempts(join(work, 'groups', 'state.db'));
    assert.equal(attempts.length, 30);
    assert.ok(attempts.every((a) => a.kind === 'first' && a.outcome === 'ok'));
    assert.ok(maxCommandsInFlight(attempts, 'imap1', 'first') <= 4);
    const groups = [...new Set(attempts.map((a) => a.grp!))].sort((a, b) => a - b);
    assert.equal(groups.length, 8);
    for (let i = 1; i < groups.length; i++) {
      const previousEnd = Math.max(...attempts.filter((a) => a.grp === groups[i - 1]).map((a) => a.ended_at!));
      const start = Math.min(...attempts.filter((a) => a.grp === groups[i]).map((a) => a.started_at));
      assert.ok(start >= previousEnd, `group ${groups[i]} started before group ${groups[i - 1]} ended`);
      assert.ok(attempts.filter((a) => a.grp === groups[i]).length <= 4);
    }

    const report = await runCliProcess(['report', '--json', '-c', config]);
    const parsed = JSON.parse(report.stdout) as ReportJson;
    assert.equal(parsed.counts.fresh, 30);
    assert.equal(parsed.counts.missing, 0);
  });

  test('killed with SIGKILL halfway and started again: finishes the rest, redoes nobody, the killed attempt is interrupted or settled', async () => {
    const dir = join(work, 'kill');
    const config = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { maxConcurrent: 1, users: ['big*'] } }],
      extra: 'bootstrap:\n  groupSize: 1\n  pause: 10ms\n',
    });
    const state = join(dir, 'state.db');
    const first = startCliProcess(['bootstrap', '-c', config]);
    // Kill it after at least one user finished, while the server is backing the next one up: an attempt is
    // open and backupd is staging its messages (staging is empty between users), so the server goes on.
    let exitedEarly = false;
    void first.exited.then(() => (exitedEarly = true));
    await waitFor(
      () => {
        if (exitedEarly) assert.fail(`bootstrap ended before it could be caught mid-backup\n${first.output().stdout}`);
        const a = attemptsSoFar(state);
        return a.some((x) => x.outcome === 'ok') && a.some((x) => x.ended_at === null) && stagedFiles(bed) > 0;
      },
      { what: 'a first backup in flight on the server after one finished', timeoutMs: 120_000, intervalMs: 10 },
    );
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    const beforeRestart = readAttempts(state);
    const finished = beforeRestart.filter((a) => a.outcome === 'ok').map((a) => a.userid);
    const killed = beforeRestart.filter((a) => a.ended_at === null).map((a) => a.userid);
    assert.ok(finished.length >= 1 && killed.length === 1, JSON.stringify(beforeRestart));

    const second = await runCliProcess(['bootstrap', '-c', config], { timeoutMs: 120_000 });
    assert.ok([0, 1].includes(second.code), second.stdout + second.stderr);
    const attempts = readAttempts(state);
    for (const userid of finished) assert.equal(attempts.filter((a) => a.userid === userid).length, 1, `${userid} was not redone`);
    const history = await runCliProcess(['history', killed[0]!, '--json', '-c', config]);
    assert.equal(history.code, 0, history.stderr);
    const lines = history.stdout.trim().split('\n').map((l) => JSON.parse(l));
    // Interrupted, or, once the server's own finish shows as a new chunk, the success it was.
    const killedAttempt = lines.at(-1) as { outcome: string; error: string };
    assert.ok(killedAttempt.outcome === 'interrupted' || (killedAttempt.outcome === 'ok' && /settled: the server finished it/.test(killedAttempt.error)), JSON.stringify(killedAttempt));
    assert.equal(attempts.filter((a) => a.ended_at === null).length, 0, 'every attempt is closed');

    // The server finished the killed user's backup on its own, or the second run did: all six are backed up.
    let last = '';
    await waitFor(
      async () => {
        const report = JSON.parse((await runCliProcess(['report', '--json', '--user', 'big*', '-c', config])).stdout) as ReportJson;
        last = JSON.stringify(report.users.filter((u) => u.state !== 'fresh'));
        return report.users.every((u) => u.state === 'fresh');
      },
      { what: 'every big user backed up', timeoutMs: 120_000, describe: () => `not fresh: ${last}` },
    );
  });

  test('a second bootstrap or run on the same state database exits 2 with a clear message', async () => {
    const dir = join(work, 'lock');
    const config = writeBedConfig(bed, dir, { servers: [{ which: 'imap1', settings: { users: ['nobody*'] } }], extra: 'policy:\n  schedule: "0 0 1 1 *"\n' });
    const holder = startCliProcess(['run', '-c', config]);
    await waitFor(() => /scheduler started/.test(holder.output().stdout), { what: 'the first run to start', timeoutMs: 60_000, describe: () => holder.output().stdout + holder.output().stderr });
    const second = await runCliProcess(['run', '-c', config]);
    assert.equal(second.code, 2);
    assert.match(second.stderr, /another xbackup-scheduler run \(pid \d+, since .*\) uses the state database .*state\.db; stop it first/);
    holder.child.kill('SIGTERM');
    assert.equal(await holder.exited, 0);
  });
});
