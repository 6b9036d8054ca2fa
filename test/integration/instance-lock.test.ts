// One scheduler per state database, held by the kernel: real `run` processes, real deletions, a real
// SIGKILL and a pid that another process took over. No IMAP server is needed: the lock comes first.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { lockFileOf } from '../../src/scheduler/state/instance-lock.js';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { waitFor } from '../support/wait-for.js';
import { runCliProcess, startCliProcess } from '../support/run-cli.js';

const work = mkdtempSync(join(tmpdir(), 'xbs-lock-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A config whose one IMAP server refuses connections: cycles run (every second) and fail discovery. */
function config(name: string): { file: string; state: string } {
  const dir = join(work, name);
  const state = join(dir, 'state.db');
  const conf = join(dir, 'imapd.conf');
  const file = join(dir, 'config.yaml');
  rmSync(dir, { recursive: true, force: true });
  openStateDb(state).close();
  writeFileSync(conf, `configdirectory: ${dir}\nbackuppartition-default: ${dir}\nbackup_db: flat\n`);
  writeFileSync(join(dir, 'pw'), 'secret\n', { mode: 0o600 });
  writeFileSync(
    file,
    `backupd:\n  imapdConf: ${conf}\nstate: ${state}\nservers:\n  - name: imap1\n    host: 127.0.0.1\n    port: 1\n    tls: none\n    user: admin\n    passwordFile: ${join(dir, 'pw')}\n` +
      'policy:\n  schedule: "* * * * * *"\n',
  );
  return { file, state };
}

const started = (run: ReturnType<typeof startCliProcess>) => () => /scheduler started/.test(run.output().stdout);

describe('the instance lock', () => {
  for (const [what, remove] of [
    ['the state database', (state: string) => ['', '-wal', '-shm'].forEach((s) => rmSync(`${state}${s}`, { force: true }))],
    ['the lock file', (state: string) => rmSync(lockFileOf(state))],
  ] as const) {
    test(`${what} deleted under a running run: it stops with exit 4, saying why, and a new run can start`, async (t) => {
      const { file, state } = config(`deleted-${what.length}`);
      const first = startCliProcess(['run', '-c', file]);
      t.after(() => void first.child.kill('SIGKILL'));
      await waitFor(started(first), { what: 'the first run to start', timeoutMs: 30_000 });
      remove(state);
      const code = await first.exited;
      assert.equal(code, 4, first.output().stdout + first.output().stderr);
      assert.match(first.output().stdout + first.output().stderr, /was deleted while this scheduler ran: another one could start beside it/);

      const second = startCliProcess(['run', '-c', file]);
      t.after(() => void second.child.kill('SIGKILL'));
      await waitFor(started(second), { what: 'a second run to start', timeoutMs: 30_000 });
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    });
  }

  test('a second run beside a live one exits 2 naming it; after the first is SIGKILLed one starts at once, whoever has its pid now', async (t) => {
    const { file, state } = config('killed');
    const first = startCliProcess(['run', '-c', file]);
    t.after(() => void first.child.kill('SIGKILL'));
    await waitFor(started(first), { what: 'the first run to start', timeoutMs: 30_000 });
    const beside = await runCliProcess(['run', '-c', file]);
    assert.equal(beside.code, 2);
    assert.match(beside.stderr, new RegExp(`another xbackup-scheduler run \\(pid ${first.child.pid}, since .*\\) uses the state database`));

    first.child.kill('SIGKILL');
    await first.exited;
    // The row still names the dead pid; give that pid's part to a live process, as pid reuse would.
    const squatter = spawn('sleep', ['600'], { stdio: 'ignore' });
    t.after(() => void squatter.kill('SIGKILL'));
    const db = openStateDb(state);
    db.prepare('UPDATE instance_lock SET pid = ? WHERE id = 1').run(squatter.pid);
    // And an attempt the kill left open, as a crash mid-XBACKUP leaves it.
    db.prepare("INSERT INTO attempt (userid, server, kind, pattern, started_at, chunk_before) VALUES ('anne', 'imap1', 'refresh', 'user.anne', ?, 3)").run(Date.now() - 1000);
    db.close();

    const history = await runCliProcess(['history', '--json', '-c', file]);
    assert.equal(JSON.parse(history.stdout.trim().split('\n')[0]!).outcome, 'interrupted', 'no scheduler holds the lock: the open attempt was cut off');

    const next = startCliProcess(['run', '-c', file]);
    t.after(() => void next.child.kill('SIGKILL'));
    await waitFor(started(next), { what: 'a new run to start although the row names a live pid', timeoutMs: 30_000 });
    next.child.kill('SIGTERM');
    assert.equal(await next.exited, 0);
  });
});
