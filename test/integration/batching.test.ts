import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess } from '../support/run-cli.js';
import { readAttempts } from '../support/state-db-reader.js';
import { waitFor } from '../support/wait-for.js';
import { useBed } from '../support/use-bed.js';

const USERS = Array.from({ length: 300 }, (_, i) => `s${String(i + 1).padStart(3, '0')}`);
const MISSING = ['s150x', 's2', 's300a'];

interface ReportUser {
  userid: string;
  state: string;
  lastBackup: string;
  lastVerified: string;
  chunks: number;
}

async function report(config: string, args: readonly string[] = []): Promise<{ generatedAt: string; users: ReportUser[] }> {
  const r = await runCliProcess(['report', '--json', ...args, '-c', config]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { generatedAt: string; users: ReportUser[] };
}

/** Until the report (with `config`'s maxAge of a second) says every one of USERS is due: their backups are older than that. */
async function untilAllStale(config: string): Promise<void> {
  let seen: ReportUser[] = [];
  await waitFor(
    async () => {
      seen = (await report(config, ['--user', 's*'])).users.filter((u) => USERS.includes(u.userid));
      return seen.length === USERS.length && seen.every((u) => u.state === 'stale');
    },
    { what: 'every s user stale', timeoutMs: 60_000, describe: () => JSON.stringify(seen.filter((u) => u.state !== 'stale').slice(0, 5)) },
  );
}

describe('batching: many already backed-up users refreshed with few XBACKUP patterns', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-batching-',
    async setup() {
      for (const u of USERS) await bed.createUser(u, { messages: 1, messageBytes: 1000 });
      const first = await bed.xbackup('user.s*');
      assert.equal(first.status, 'OK');
      // Created after that first backup: never backed up, and interleaved with the others by name.
      for (const u of MISSING) await bed.createUser(u, { messages: 1 });
    },
  });

  test('one cycle refreshes all 300 with a handful of commands, never sweeping in a missing user; and it is much faster than one XBACKUP each', async () => {
    const config = writeBedConfig(bed, join(work, 'batch'), {
      servers: [{ which: 'imap1', settings: { maxConcurrent: 2, users: ['s*'] } }],
      // Due by age alone: unchanged, the comparison with their mailboxes would keep them fresh.
      extra: 'policy:\n  maxAge: 1s\n  compareLive: false\n  maxPerCycle: 1000\nbootstrap:\n  groupSize: 5\n',
    });
    await untilAllStale(config);
    const started = Date.now();
    const run = await runCliProcess(['run', '--once', '-c', config], { timeoutMs: 120_000 });
    const cycleMs = Date.now() - started;
    assert.equal(run.code, 0, run.stdout + run.stderr);

    const attempts = readAttempts(join(work, 'batch', 'state.db'));
    const refreshes = attempts.filter((a) => a.kind === 'refresh');
    assert.deepEqual(refreshes.map((a) => a.userid).sort(), USERS);
    assert.ok(refreshes.every((a) => a.outcome === 'ok'), 'every refreshed user was verified');
    const commands = new Set(refreshes.map((a) => `${a.pattern}@${a.started_at}`));
    // s2 and s150x sit inside the name ranges of due users, so those ranges need exact names (see the planner's tests).
    assert.ok(commands.size <= 40, `${commands.size} commands for 300 users`);
    for (const m of MISSING) {
      const forM = attempts.filter((a) => a.userid === m);
      assert.ok(forM.every((a) => a.kind === 'first' && a.pattern === `user.${m}`), `${m} only ever had its own first backup: ${JSON.stringify(forM)}`);
    }

    // The peer: the same 300 refreshes as one XBACKUP each, on one connection.
    const client = await bed.connect();
    const peerStarted = Date.now();
    for (const u of USERS) assert.equal((await client.command(`XBACKUP user.${u} backup`)).status, 'OK');
    const peerMs = Date.now() - peerStarted;
    await client.logout();
    const cycleLine = run.stdout.split('\n').find((l) => l.includes('"cycle end"'));
    const inCycleMs = cycleLine ? Math.round((JSON.parse(cycleLine) as { seconds?: number }).seconds! * 1000) : NaN;
    console.log(
      `batching: 300 refreshes in ${commands.size} commands: cycle ${inCycleMs} ms (${cycleMs} ms for the whole run --once process); ` +
        `one XBACKUP per user on one connection: ${peerMs} ms; ${(peerMs / inCycleMs).toFixed(1)}× (cycle), ${(peerMs / cycleMs).toFixed(1)}× (process)`,
    );
  });

  test('plan shows the batch patterns and who is held back and why', async () => {
    const config = writeBedConfig(bed, join(work, 'plan'), {
      servers: [{ which: 'imap1', settings: { users: ['s*'] } }],
      extra: 'policy:\n  maxAge: 1s\n  compareLive: false\n  maxPerCycle: 100\n',
    });
    await untilAllStale(config);
    const plan = await runCliProcess(['plan', '-c', config]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /^\d+ users would be backed up now, in this order:$/m);
    assert.match(plan.stdout, /^  imap1: XBACKUP user\.s\S* +\(\d+ users\)$/m);
    assert.match(plan.stdout, /: max-per-cycle: /);
    const json = JSON.parse((await runCliProcess(['plan', '--json', '-c', config])).stdout) as { planned: unknown[]; held: Array<{ reason: string }> };
    assert.equal(json.planned.length, 100);
    assert.ok(json.held.some((h) => h.reason === 'max-per-cycle'));
  });
});

describe('after ctl_backups compact, a user stays fresh from our own record of verified backups', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-compact-',
    async setup() {
      await bed.createUser('packed', { messages: 5 });
    },
  });

  test('lastBackup shows what the index says, lastVerified keeps the user fresh', async () => {
    // The question is what the index and our record say: the comparison with the mailboxes would keep packed fresh.
    const config = writeBedConfig(bed, work, { extra: 'policy:\n  compareLive: false\n' });
    const backup = async () => assert.equal((await runCliProcess(['backup', 'packed', '-c', config])).code, 0);
    const timed = async (step: () => Promise<unknown>) => {
      const started = performance.now();
      await step();
      return performance.now() - started;
    };
    const backupMs = await timed(backup);
    const reportMs = await timed(() => report(config));
    // maxAge must outlast what follows the last verified backup (its own end, the compaction, the report)
    // on this machine as it is now, and be waited out once: a multiple of the measured times plus a margin.
    const maxAgeS = Math.ceil((2 * (2 * backupMs + reportMs) + 2000) / 1000);
    const withMaxAge = ['--max-age', `${maxAgeS}s`];
    const packedNow = async () => {
      const r = await report(config, withMaxAge);
      return { generatedAt: r.generatedAt, ...r.users.find((u) => u.userid === 'packed')! };
    };
    await waitFor(async () => (await packedNow()).state === 'stale', { what: `packed's first backup older than ${maxAgeS} s`, timeoutMs: maxAgeS * 1000 + 60_000 });
    // Unchanged since the first backup: each of these adds an empty chunk, which compaction drops.
    let compactMs = 0;
    const spanMs = await timed(async () => {
      for (let i = 0; i < 3; i++) await backup();
      compactMs = await timed(async () => {
        const compact = await bed.ctlBackups(['compact', 'packed']);
        assert.equal(compact.code, 0, compact.stderr);
      });
    });
    const packed = await packedNow();
    const shown = `${JSON.stringify(packed)}; maxAge ${maxAgeS} s from a backup of ${Math.round(backupMs)} ms and a report of ${Math.round(reportMs)} ms; the three backups and the compaction (${Math.round(compactMs)} ms) took ${Math.round(spanMs)} ms`;
    assert.equal(packed.chunks, 1, `compaction left the one chunk with data: ${shown}`);
    assert.ok(Date.parse(packed.generatedAt) - Date.parse(packed.lastBackup) >= maxAgeS * 1000, `by the index alone packed is stale: ${shown}`);
    assert.ok(Date.parse(packed.lastVerified) - Date.parse(packed.lastBackup) >= (maxAgeS - 1) * 1000, shown);
    assert.equal(packed.state, 'fresh', shown);
  });
});
