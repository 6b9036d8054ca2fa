// The maintenance lane against real Cyrus: ctl_backups run as the bed's cyrus through maintenance.command.
// A backup with 60 chunks is compacted inside the window (fewer chunks, the same backup time in `report`),
// and not at all while the window is closed; every backup is deep-verified, and one damaged on purpose is
// reported `damaged` with Cyrus's reason (report, Nagios CRITICAL, the webhook) until a fresh backup replaces it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { writeBedConfig } from '../support/bed-config.js';
import { indexCounts } from '../support/index-counts.js';
import { closedWindow, openWindow, TZ } from '../support/local-windows.js';
import { bedCyrusPrefix, damageLastChunk, dataFileOf, replaceWithFreshBackup } from '../support/backup-maintenance.js';
import { receivedEvents, startReceiver } from '../support/notify-receiver.js';
import { waitFor } from '../support/wait-for.js';
import { runCliProcess, startCliProcess, type CliResult } from '../support/run-cli.js';
import { useBed } from '../support/use-bed.js';
import { readAttempts, type AttemptRow } from '../support/state-db-reader.js';

const env = { TZ };

interface ReportUser {
  userid: string;
  state: string;
  age: number | null;
  chunks: number | null;
  error: string | null;
  lastDeepVerify?: string | null;
}

async function cli(args: string[]): Promise<CliResult> {
  return runCliProcess(args, { env, timeoutMs: 300_000 });
}

/** Each user's report entry, and when its backup counts from (generatedAt − age), in whole seconds. */
async function report(config: string): Promise<Map<string, ReportUser & { backedUpAt: number | null }>> {
  const r = await cli(['report', '--json', '-c', config]);
  assert.equal(r.code === 0 || r.code === 1, true, r.stderr);
  const body = JSON.parse(r.stdout) as { generatedAt: string; users: ReportUser[] };
  const at = Date.parse(body.generatedAt);
  return new Map(body.users.map((u) => [u.userid, { ...u, backedUpAt: u.age === null ? null : Math.round((at - u.age * 1000) / 1000) }]));
}

/** The user's XBACKUP attempts (not the in-sync checks, which send none). */
function xbackupsOf(stateFile: string, userid: string): AttemptRow[] {
  if (!existsSync(stateFile)) return [];
  return readAttempts(stateFile).filter((a) => a.userid === userid && a.outcome !== 'in-sync');
}

interface MaintenanceRunRow {
  userid: string;
  verb: string;
  why: string;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
  detail: string | null;
}

/** The lane's ctl_backups runs, straight from the state database (none before it exists). */
function maintenanceRuns(stateFile: string): MaintenanceRunRow[] {
  if (!existsSync(stateFile)) return [];
  const db = new Database(stateFile, { readonly: true });
  try {
    return db.prepare('SELECT userid, verb, why, started_at, ended_at, outcome, detail FROM maintenance_run ORDER BY id').all() as MaintenanceRunRow[];
  } finally {
    db.close();
  }
}

function openRun(stateFile: string): MaintenanceRunRow | undefined {
  return maintenanceRuns(stateFile).find((r) => r.ended_at === null);
}

describe('maintenance against real Cyrus: compaction by need, rolling deep verification, damaged', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-maintenance-',
    async setup() {
      for (const userid of ['hot', 'calm', 'rot']) {
        await bed.createUser(userid, { messages: 3 });
        assert.equal((await bed.xbackup(`user.${userid}`)).status, 'OK');
      }
      // 60 XBACKUPs more of the same user: each appends a chunk, changed or not (cyrus-facts.md).
      for (let i = 0; i < 60; i++) assert.equal((await bed.xbackup('user.hot')).status, 'OK');
    },
  });

  const config = (dir: string, window: string) =>
    writeBedConfig(bed, join(work, dir), {
      servers: [{ which: 'imap1', settings: { users: ['hot', 'calm', 'rot'] } }],
      // maxAge far off: no XBACKUP is due, so what changes the backups is maintenance alone.
      extra:
        'policy:\n  maxAge: 7d\n' +
        `maintenance:\n  command: ${JSON.stringify(bedCyrusPrefix(bed))}\n  window: "${window}"\n  compactChunks: 50\n  verifyEvery: 1d\n  timeout: 10m\n`,
    });

  test('a closed maintenance.window: run --once runs no ctl_backups at all; plan says when it opens and what waits', async () => {
    const file = config('closed', closedWindow().text);
    const chunksBefore = (await indexCounts(bed, 'chunk')).get('hot');
    const run = await cli(['run', '--once', '-c', file]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(maintenanceRuns(join(work, 'closed', 'state.db')), []);
    assert.equal((await indexCounts(bed, 'chunk')).get('hot'), chunksBefore);
    const plan = await cli(['plan', '-c', file]);
    assert.match(plan.stdout, /maintenance \(maintenance\.window \S+ closed, opens at /);
    assert.match(plan.stdout, /verify, then compact hot: 6\d chunks \(more than 50\)/);
  });

  test('inside the window: every backup deep-verified; hot, past compactChunks, verified then compacted, its backup time in report unchanged', async () => {
    const file = config('open', openWindow().text);
    const before = await report(file);
    const chunksBefore = (await indexCounts(bed, 'chunk')).get('hot')!;
    assert.ok(chunksBefore > 60, `hot has ${chunksBefore} chunks`);
    const run = await cli(['run', '--once', '-c', file]);
    assert.equal(run.code, 0, run.stderr);
    const runs = maintenanceRuns(join(work, 'open', 'state.db'));
    assert.deepEqual(
      runs.map((r) => `${r.verb} ${r.userid} ${r.outcome}`),
      ['verify hot ok', 'compact hot ok', 'verify calm ok', 'verify rot ok'],
      JSON.stringify(runs),
    );
    // `history --maintenance` shows the same runs, newest first; hot's compaction with the chunks it began with.
    const listed = await cli(['history', '--maintenance', '--json', '-c', file]);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { userid: string; verb: string; outcome: string; chunks: number });
    assert.deepEqual(lines.map((r) => `${r.verb} ${r.userid} ${r.outcome}`), runs.map((r) => `${r.verb} ${r.userid} ${r.outcome}`).reverse());
    assert.equal(lines.find((r) => r.verb === 'compact')!.chunks, chunksBefore);
    const chunksAfter = (await indexCounts(bed, 'chunk')).get('hot')!;
    assert.ok(chunksAfter < chunksBefore, `hot: ${chunksBefore} → ${chunksAfter} chunks`);
    const after = await report(file);
    assert.equal(after.get('hot')!.backedUpAt, before.get('hot')!.backedUpAt, 'compaction moved the backup time');
    for (const userid of ['hot', 'calm', 'rot']) {
      assert.equal(after.get(userid)!.state, 'fresh');
      assert.ok(after.get(userid)!.lastDeepVerify, `${userid} has a last deep verification`);
    }
    // Done for this opening: a second run --once finds nothing due.
    assert.equal((await cli(['run', '--once', '-c', file])).code, 0);
    assert.equal(maintenanceRuns(join(work, 'open', 'state.db')).length, runs.length);
  });

  test('a data file damaged on purpose under `run`: user.damaged on the webhook, damaged with Cyrus\'s reason in report, Nagios CRITICAL; a fresh backup to a new file clears it', async (t) => {
    const hook = await startReceiver();
    t.after(() => hook.close());
    const dir = join(work, 'damage');
    const file = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { users: ['rot', 'calm'] } }],
      extra:
        'policy:\n  schedule: "* * * * * *"\n  maxAge: 7d\n' +
        `maintenance:\n  command: ${JSON.stringify(bedCyrusPrefix(bed))}\n  window: "${openWindow().text}"\n  verifyEvery: 1d\n  timeout: 10m\n` +
        `notify:\n  webhook:\n    url: "${hook.base}/hook"\n    timeout: 5s\n`,
    });
    const before = await dataFileOf(bed, 'rot');
    await damageLastChunk(bed, 'rot');
    const running = startCliProcess(['run', '-c', file], { env });
    const events = () => receivedEvents(hook, '/hook') as Array<{ event: string; userid?: string; error?: string | null; state?: string; previousState?: string }>;
    const show = () => `${running.output().stdout.slice(-3000)}\nevents: ${JSON.stringify(events())}`;
    try {
      const damaged = await waitFor(() => events().find((e) => e.event === 'user.damaged' && e.userid === 'rot'), { what: 'user.damaged for rot on the webhook', timeoutMs: 120_000, describe: show });
      assert.match(damaged.error ?? '', /ctl_backups verify at .* found: .*(Unknown code ____ 255|chunk \d+)/);
      const rot = (await report(file)).get('rot')!;
      assert.equal(rot.state, 'damaged');
      assert.match(rot.error ?? '', /cyr_dbtool .* twoskip delete "rot"/, 'says what to do');
      const nagios = await cli(['report', '--format', 'nagios', '-c', file]);
      assert.equal(nagios.code, 2, nagios.stdout);
      assert.match(nagios.stdout, /^XBACKUP CRITICAL.*rot/);
      // The cure Cyrus 3.6 needs (docs/cyrus-facts-maintenance.md): its key out of backups.db, the files aside, an XBACKUP.
      const fresh = await replaceWithFreshBackup(bed, 'rot');
      assert.notEqual(fresh.fresh, before);
      const recovered = await waitFor(() => events().find((e) => e.event === 'user.recovered' && e.userid === 'rot'), { what: 'user.recovered for rot on the webhook', timeoutMs: 120_000, describe: show });
      assert.equal(recovered.previousState, 'damaged');
      // The verdict was on the old data file; the new one is verified at once, outside the day's share.
      const runs = () => maintenanceRuns(join(dir, 'state.db')).filter((r) => r.userid === 'rot').map((r) => `${r.verb} ${r.why} ${r.outcome}`);
      await waitFor(() => runs().includes('verify recheck ok'), { what: "rot's new backup verified", timeoutMs: 120_000, describe: () => `${JSON.stringify(runs())}\n${show()}` });
      assert.deepEqual(runs(), ['verify rolling damaged', 'verify recheck ok']);
      const after = (await report(file)).get('rot')!;
      assert.equal(after.state, 'fresh');
      assert.ok(after.lastDeepVerify, 'its new backup deep-verified');
    } finally {
      running.child.kill('SIGTERM');
      await running.exited;
    }
  });
  test('never at once: while ctl_backups is at a user\'s backup, no XBACKUP of that user starts; the others go on, and it is backed up again after', async (t) => {
    const dir = join(work, 'exclusive');
    mkdirSync(dir, { recursive: true });
    // A prefix that holds each ctl_backups run until the test lets it go, before ctl_backups starts: the
    // scheduler alone keeps the user's XBACKUP back (Cyrus's lock is not yet taken).
    const gate = join(dir, 'gate');
    const wrapper = join(dir, 'hold-then-run');
    writeFileSync(wrapper, `#!/bin/sh\nwhile [ -e ${gate} ]; do sleep 0.05; done\nexec "$@"\n`, { mode: 0o755 });
    writeFileSync(gate, '');
    t.after(() => rmSync(gate, { force: true }));
    const file = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { users: ['hot', 'calm'] } }],
      // Time alone (no comparison with the mailboxes): both users are due an XBACKUP every few seconds.
      extra:
        'policy:\n  schedule: "* * * * * *"\n  maxAge: 3s\n  compareLive: false\n' +
        `maintenance:\n  command: ${JSON.stringify([wrapper, ...bedCyrusPrefix(bed)])}\n  verifyEvery: 1h\n  timeout: 10m\n`,
    });
    const state = join(dir, 'state.db');
    const running = startCliProcess(['run', '-c', file], { env });
    const show = () => `${JSON.stringify(maintenanceRuns(state))}\n${running.output().stdout.slice(-3000)}`;
    try {
      // Its state database is made (and migrated) before it says it started: only then is it read here.
      await waitFor(() => running.output().stdout.includes('scheduler started'), { what: 'the scheduler started', timeoutMs: 120_000, describe: show });
      // calm's verification is first (never verified; by userid), held at the gate.
      const held = await waitFor(() => openRun(state), { what: 'a ctl_backups run under way', timeoutMs: 120_000, describe: show });
      assert.equal(held.userid, 'calm');
      const hotBefore = xbackupsOf(state, 'hot').length;
      await waitFor(() => xbackupsOf(state, 'hot').length >= hotBefore + 3, { what: 'three more XBACKUPs of hot meanwhile', timeoutMs: 120_000, describe: show });
      assert.deepEqual(xbackupsOf(state, 'calm').filter((a) => a.started_at >= held.started_at), [], 'no XBACKUP of calm while its backup is being verified');
      const plan = await cli(['plan', '-c', file]);
      assert.match(plan.stdout, /calm: maintenance: ctl_backups is verifying or compacting its backup/);
      rmSync(gate);
      await waitFor(() => xbackupsOf(state, 'calm').some((a) => a.started_at > held.started_at), { what: 'calm backed up again once its run ended', timeoutMs: 120_000, describe: show });
    } finally {
      running.child.kill('SIGTERM');
      await running.exited;
    }
    // Over the whole run, no ctl_backups run of a user overlapped an XBACKUP of that user.
    for (const run of maintenanceRuns(state)) {
      for (const a of xbackupsOf(state, run.userid)) {
        const overlaps = a.started_at < (run.ended_at ?? Infinity) && (a.ended_at ?? Infinity) > run.started_at;
        assert.ok(!overlaps, `${run.verb} of ${run.userid} (${run.started_at}-${run.ended_at}) and its XBACKUP (${a.started_at}-${a.ended_at})`);
      }
    }
  });
});
