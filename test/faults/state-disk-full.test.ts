// Fault: the disk holding the scheduler's state database fills up while `run` is working. What an
// admin must see: one clear error naming the state file, the disk being full and what to do; the
// scheduler sending no XBACKUP it could not record and exiting with its own code (4), so systemd's
// Restart=on-failure tries again later; a start while the disk is still full refusing the same way
// before sending anything; and, once space is back, a history that is intact (integrity_check ok,
// every attempt recorded before the fault still there) and a `run --once` that works and closes
// the attempts the fault left open.
//
// The disk is a tmpfs of its own where mounting is allowed, else a file size limit on the process
// (see support/small-disk.ts); the report line says which. Where the disk fills up within a cycle
// depends on a seeded slack (XBS_FAULT_SEED), printed with the result.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { seededRandom } from '../backupd/cyrusdb/helpers/seeded-random.js';
import { writeBedConfig } from '../support/bed-config.js';
import { repoRoot } from '../support/paths.js';
import { runCliProcess, runProcess, startCliProcess, type CliResult } from '../support/run-cli.js';
import { readAttempts, type AttemptRow } from '../support/state-db-reader.js';
import { closedAsInterrupted, reportUsers, seconds, serversIdle } from './support/fault-checks.js';
import { waitFor } from '../support/wait-for.js';
import { indexCounts } from '../support/index-counts.js';
import { useBed } from '../support/use-bed.js';
import { SmallDisk } from './support/small-disk.js';
import { faultSeed, scaled } from './support/soak.js';

const USERS = Array.from({ length: 8 }, (_, i) => `d${String(i + 1).padStart(2, '0')}`);
/**
 * Fills of the disk, each at a different seeded point of the work, taking the ways the disk can be
 * made full in turn (a full tmpfs, then a file size limit, where mounting is allowed).
 */
const ROUNDS = scaled('XBS_FAULT_DISK_ROUNDS', 2, 8);
/** The most the disk-full writes may leave free; a cycle's writes (scan cache, attempts, memory) take some 40 kB. */
const MAX_SLACK = 96 * 1024;
const DISK_BYTES = 16 * 1024 * 1024;
const EXIT_STATE_UNWRITABLE = 4;
const MAIN = join(repoRoot, 'dist/src/cli/main.js');
const TEST_TIMEOUT_MS = 120_000 + ROUNDS * 120_000;

describe('fault: the state database\'s disk fills up during run', () => {
  let disk: SmallDisk;
  const { bed, work } = useBed({
    scratch: 'xbs-fault-disk-full-',
    async setup() {
      disk = SmallDisk.create(join(work, 'state-disk'), DISK_BYTES);
      for (const [i, userid] of USERS.entries()) await bed.createUser(userid, { messages: 1 + (i % 4), messageBytes: 4_000 });
    },
    teardown: () => disk?.remove(),
    timeout: 120_000,
  });

  test('run says the disk is full, naming the state file; sends nothing it cannot record; exits 4; history intact and run --once works once space is back', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const seed = faultSeed();
    const random = seededRandom(seed);
    t.diagnostic(
      `disk: ${disk.mode === 'tmpfs' ? `a ${DISK_BYTES / 1024 / 1024} MB tmpfs, filled up or under a file size limit in turn` : `a file size limit on the process (no tmpfs: ${disk.whyNotTmpfs})`}; seed ${seed}; ${ROUNDS} rounds`,
    );
    const state = join(disk.dir, 'state.db');
    // Every user is due every 2 s, so each cycle writes: the scan cache, attempts, their ends, the users' memory.
    // By age alone: unchanged, the comparison with their mailboxes would keep them fresh.
    const config = writeBedConfig(bed, join(work, 'config'), {
      servers: [{ which: 'imap1', settings: { maxConcurrent: 2 } }],
      extra: `policy:\n  schedule: "* * * * * *"\n  maxAge: 2s\n  compareLive: false\nretry:\n  baseDelay: 1s\n  maxDelay: 2s\n  inDoubtGrace: 1s\nbootstrap:\n  groupSize: ${USERS.length}\n  pause: 0s\n`,
    });
    writeFileSync(config, readFileSync(config, 'utf8').replace(/^state: .*$/m, `state: ${state}`));

    const boot = await runCliProcess(['bootstrap', '-c', config], { timeoutMs: 90_000 });
    assert.equal(boot.code, 0, show(boot));

    for (let round = 1; round <= ROUNDS; round++) {
      const slack = Math.floor(random() * MAX_SLACK);
      const way = disk.ways()[(round - 1) % disk.ways().length]!;
      const chunksBefore = await indexCounts(bed, 'chunk');
      const lastIdBeforeRun = Math.max(0, ...readAttempts(state).map((a) => a.id));
      const running = startCliProcess(['run', '-c', config]);
      t.after(() => void running.child.kill('SIGKILL'));
      let exitCode: number | string | undefined;
      void running.exited.then((c) => (exitCode = c));
      // At work: at least one cycle has backed users up since this start.
      await waitFor(() => logLines(running.output().stdout).some((l) => l.msg === 'cycle end' && Number(l.attempted) > 0), {
        what: 'run to finish a cycle that backed users up',
        timeoutMs: 60_000,
        describe: () => running.output().stdout + running.output().stderr,
      });
      const recordedBefore = readAttempts(state);
      const filledAt = Date.now();
      disk.fill(way, running.child.pid!, state, slack);

      await waitFor(() => exitCode !== undefined, { what: 'run to stop after the disk filled up', timeoutMs: 90_000, describe: () => running.output().stdout.slice(-3000) });
      const reaction = Date.now() - filledAt;
      const { stdout, stderr } = running.output();
      const shown = `exit ${exitCode}\n--- stdout (end)\n${stdout.slice(-4000)}--- stderr\n${stderr}`;
      assert.equal(exitCode, EXIT_STATE_UNWRITABLE, `run exits 4 when it cannot record its work\n${shown}`);
      assertDiskFullMessage(stderr, state, shown);
      assert.doesNotMatch(stderr, /\n\s+at |TypeError|ReferenceError|unhandled/i, `no crash or stack trace\n${shown}`);
      const halted = logLines(stdout).find((l) => l.msg === 'scheduler halted: its state database cannot be written, so no further XBACKUP is sent');
      assert.ok(halted && halted.level === 'error' && halted.state === state, `the log says why it stopped, at level error\n${shown}`);
      const failedCycle = logLines(stdout).find((l) => l.msg === 'cycle failed');
      const failure = String(failedCycle?.err ?? '').match(/\((SQLITE_\w+|E[A-Z]+):/)?.[1] ?? 'unknown';

      // Still full: a restart (systemd's, 30 s later) refuses at once and sends nothing.
      // XBACKUPs still running on the server (their client gone) add their chunks first.
      await serversIdle(bed);
      const chunksAtHalt = await indexCounts(bed, 'chunk');
      const recordedAtHalt = readCopy(state);
      const retry = await runProcess(disk.fullFromStart(way, [process.execPath, MAIN, 'run', '--once', '-c', config]), { timeoutMs: 60_000 });
      assert.equal(retry.code, EXIT_STATE_UNWRITABLE, `a start on a full disk exits 4\n${show(retry)}`);
      assertDiskFullMessage(retry.stderr, state, show(retry));
      // An XBACKUP it had sent would keep an imapd busy until done: wait for the servers to be idle.
      await serversIdle(bed);
      assert.deepEqual(await indexCounts(bed, 'chunk'), chunksAtHalt, 'a start on a full disk sends no XBACKUP');
      assert.equal(readCopy(state).length, recordedAtHalt.length, 'a start on a full disk records nothing');

      // Space back: the history is whole, and the next run works and closes what the fault left open.
      disk.free();
      const integrity = integrityCheck(state);
      assert.equal(integrity, 'ok', `PRAGMA integrity_check on ${state}`);
      assertKept(recordedBefore, readAttempts(state), 'the fault');
      const leftOpen = recordedAtHalt.filter((a) => a.ended_at === null);
      // Work for the recovery run: a user due again (older than maxAge), however soon after the halt this is.
      let states: string[] = [];
      await waitFor(async () => (states = (await reportUsers(config)).map((u) => `${u.userid} ${u.state}`)).some((s) => s.endsWith(' stale')), {
        what: 'a user due again',
        timeoutMs: 60_000,
        describe: () => states.join(', '),
      });
      const recoveryStart = Date.now();
      const again = await runCliProcess(['run', '--once', '-c', config], { timeoutMs: 90_000 });
      const recovery = Date.now() - recoveryStart;
      assert.equal(again.code, 0, `run --once works once space is back\n${show(again)}`);
      const after = readAttempts(state);
      assertKept(recordedAtHalt.filter((a) => a.ended_at !== null), after, 'the recovery');
      assert.deepEqual(after.filter((a) => a.ended_at === null), [], 'no attempt is left open');
      for (const a of leftOpen) {
        const now = after.find((b) => b.id === a.id);
        assert.ok(closedAsInterrupted(now), `attempt ${a.id} (${a.userid}) left open by the fault is closed as interrupted (or settled since): ${JSON.stringify(now)}`);
      }
      assert.ok(after.some((a) => a.started_at >= recoveryStart && a.outcome === 'ok'), 'the recovery run backed users up');

      // Every XBACKUP that reached backupd (each adds a chunk) had its attempt recorded first.
      await serversIdle(bed);
      const chunksAfter = await indexCounts(bed, 'chunk');
      let sentTotal = 0;
      let recordedTotal = 0;
      for (const userid of USERS) {
        const sent = (chunksAtHalt.get(userid) ?? 0) - (chunksBefore.get(userid) ?? 0);
        const recorded = recordedAtHalt.filter((a) => a.userid === userid && a.id > lastIdBeforeRun).length;
        assert.ok(sent <= recorded, `${userid}: ${sent} XBACKUPs reached backupd during the run, but only ${recorded} attempts were recorded`);
        sentTotal += sent;
        recordedTotal += recorded;
      }
      const usersAffected = [...new Set(leftOpen.map((a) => a.userid))];
      console.log(
        `state disk full (round ${round}/${ROUNDS}, ${way === 'tmpfs' ? 'tmpfs filled up' : 'file size limit'}, ${Math.round(slack / 1024)} kB left): run stopped ${seconds(reaction)} after the disk filled up ` +
          `(${failure}), exit ${exitCode}, "${stderr.trim().split('\n')[0]!.slice(0, 160)}…"; ` +
          `${recordedBefore.length} attempts before, ${recordedAtHalt.length} at the halt (${leftOpen.length} left open); ` +
          `XBACKUPs sent ${sentTotal} vs recorded ${recordedTotal} since the run started; users affected ${usersAffected.length} (${usersAffected.join(', ') || 'none'}); ` +
          `a restart on the full disk exited ${retry.code}; history rows lost 0; integrity ${integrity}; ` +
          `recovery (space back -> run --once done) ${seconds(recovery)}; chunks now ${[...chunksAfter.values()].reduce((a, b) => a + b, 0)}`,
      );
    }
  });
});

/** stderr's one error line: the state file, that the disk is full (or a write failed), and what to do. */
function assertDiskFullMessage(stderr: string, state: string, shown: string): void {
  const line = stderr.split('\n').find((l) => l.startsWith('error: '));
  assert.ok(line, `an error line on stderr\n${shown}`);
  assert.ok(line.startsWith(`error: state database ${state}: cannot record history: `), `the error names the state file\n${shown}`);
  assert.match(line, /disk is full, no space left|may be full/, `the error says the disk is full\n${shown}`);
  assert.match(line, /Free space there|Fix that/, `the error says what to do\n${shown}`);
  assert.match(line, /No XBACKUP is sent that could not be recorded/, `the error says the work stopped\n${shown}`);
}

/** Every attempt in `before` is in `after`; one that had ended is unchanged. */
function assertKept(before: readonly AttemptRow[], after: readonly AttemptRow[], what: string): void {
  const byId = new Map(after.map((a) => [a.id, a]));
  for (const a of before) {
    const now = byId.get(a.id);
    assert.ok(now, `attempt ${a.id} (${a.userid}) recorded before ${what} is still there`);
    assert.deepEqual(
      { userid: now.userid, started_at: now.started_at, pattern: now.pattern },
      { userid: a.userid, started_at: a.started_at, pattern: a.pattern },
      `attempt ${a.id} is unchanged`,
    );
    if (a.ended_at !== null) assert.deepEqual(now, a, `attempt ${a.id}, ended before ${what}, is unchanged`);
  }
}

/**
 * The attempts, read from a copy of the database (and its WAL): on a full disk, even a reader may
 * need to create the -shm file, and the test must not change what it inspects.
 */
function readCopy(state: string): AttemptRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'xbs-state-copy-'));
  try {
    const copy = join(dir, 'state.db');
    copyFileSync(state, copy);
    if (existsSync(`${state}-wal`)) copyFileSync(`${state}-wal`, `${copy}-wal`);
    return readAttempts(copy);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function integrityCheck(state: string): string {
  const db = new Database(state, { fileMustExist: true });
  try {
    return (db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check;
  } finally {
    db.close();
  }
}



interface LogLine {
  msg?: string;
  level?: string;
  [key: string]: unknown;
}

function logLines(stdout: string): LogLine[] {
  return stdout.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as LogLine];
    } catch {
      return [];
    }
  });
}

const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
