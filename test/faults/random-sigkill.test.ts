// Fault: the scheduler SIGKILLed at random points, many times in a row, during `bootstrap` and
// `run` (while it starts, in the middle of a first-backup group, between an XBACKUP and its record,
// while it records), with new mail arriving meanwhile. What must hold: no history is ever lost
// (every attempt recorded before a kill is still there after it, unchanged once it had ended); each
// attempt a kill left open is closed as interrupted by the next start; and one last `run`, left to
// finish, backs every user up (the report shows each fresh, each backup has a chunk and holds every
// message the user has, backupd's own verify passes) and leaves no attempt open.
//
// Which command, how long after its start each kill comes and who gets new mail are drawn from a
// seeded generator (XBS_FAULT_SEED), printed with every kill; XBS_FAULT_KILLS and XBS_FAULT_USERS
// set the size (CI: 20 kills, 24 users; `npm run soak`: 100 kills, 60 users).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { seededRandom } from '../backupd/cyrusdb/helpers/seeded-random.js';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess, startCliProcess } from '../support/run-cli.js';
import { type AttemptRow } from '../support/state-db-reader.js';
import { attemptsSoFar, closedAsInterrupted, ctlBackupsList, seconds } from './support/fault-checks.js';
import { waitFor } from '../support/wait-for.js';
import { indexCounts } from '../support/index-counts.js';
import { useBed } from '../support/use-bed.js';
import { faultSeed, scaled } from './support/soak.js';

const KILLS = scaled('XBS_FAULT_KILLS', 20, 100);
const USER_COUNT = scaled('XBS_FAULT_USERS', 24, 60);
/**
 * Half the kills come this long after the process started (mostly while it starts up: taking the
 * lock, closing what the last kill left open, the first scan), the other half this long after its
 * first attempt appeared (in the middle of its work: XBACKUPs in flight, records being written).
 */
const KILL_AFTER_START_MS = { min: 50, max: 2_500 };
const KILL_AFTER_WORK_MS = { min: 0, max: 1_500 };
/** New mail before a start, for a user drawn at random half of the time: refreshes then carry data. */
const NEW_MAIL = { chance: 0.5, maxMessages: 10, messageBytes: 30_000 };
const TEST_TIMEOUT_MS = 180_000 + KILLS * 8_000 + USER_COUNT * 2_000;

interface BedUser {
  userid: string;
  messages: number;
  messageBytes: number;
}

/** Mixed sizes: mostly a few small messages, every sixth a few MB, some with a dot in the userid. */
function bedUsers(count: number): BedUser[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(2, '0');
    const userid = i % 5 === 4 ? `kill.dot${n}` : `kill${n}`;
    if (i % 6 === 0) return { userid, messages: 40, messageBytes: 60_000 };
    if (i % 6 === 1) return { userid, messages: 20, messageBytes: 10_000 };
    return { userid, messages: 1 + (i % 4), messageBytes: 3_000 };
  });
}

interface ReportJson {
  users: Array<{ userid: string; state: string; chunks: number | null }>;
}

describe('fault: the scheduler SIGKILLed at random points, again and again', () => {
  const users = bedUsers(USER_COUNT);
  const { bed, work } = useBed({
    scratch: 'xbs-fault-sigkill-',
    async setup() {
      for (const u of users) await bed.createUser(u.userid, { messages: u.messages, messageBytes: u.messageBytes });
    },
    timeout: 60_000 + USER_COUNT * 3_000,
  });

  test(`${KILLS} SIGKILLs during bootstrap and run: no history lost, open attempts closed at the next start, a last run backs everyone up`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const seed = faultSeed();
    const random = seededRandom(seed);
    const dir = join(work, 'sigkill');
    const state = join(dir, 'state.db');
    // Small groups, short ages and delays: every start finds work, first backups or refreshes, and a
    // user a kill left in doubt is tried again a few seconds later.
    const config = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { maxConcurrent: 2 } }],
      extra:
        'policy:\n  schedule: "* * * * * *"\n  maxAge: 1s\n  shutdownGrace: 30s\n' +
        'retry:\n  baseDelay: 1s\n  maxDelay: 3s\n  inDoubtGrace: 3s\n' +
        'bootstrap:\n  groupSize: 3\n  pause: 200ms\n',
    });
    t.diagnostic(`seed ${seed}; ${KILLS} kills; ${users.length} users (${users.filter((u) => u.messages * u.messageBytes > 1_000_000).length} of a few MB)`);

    let previous: AttemptRow[] = [];
    /** Attempts some kill left open: the next start must close each as interrupted. */
    const leftOpen = new Map<number, AttemptRow>();
    let killed = 0;
    let exitedOnTheirOwn = 0;
    let killedWithOpenAttempts = 0;
    const messages = new Map(users.map((u) => [u.userid, u.messages]));
    for (let k = 1; k <= KILLS; k++) {
      const command = random() < 0.4 ? 'bootstrap' : 'run';
      const anchor = random() < 0.5 ? 'start' : 'first attempt';
      const range = anchor === 'start' ? KILL_AFTER_START_MS : KILL_AFTER_WORK_MS;
      const delay = Math.round(range.min + random() * (range.max - range.min));
      let mail = '';
      if (random() < NEW_MAIL.chance) {
        const userid = users[Math.floor(random() * users.length)]!.userid;
        const count = 1 + Math.floor(random() * NEW_MAIL.maxMessages);
        await bed.appendMessages(userid, count, NEW_MAIL.messageBytes);
        messages.set(userid, messages.get(userid)! + count);
        mail = `; ${count} new messages for ${userid}`;
      }
      const running = startCliProcess([command, '-c', config]);
      t.after(() => void running.child.kill('SIGKILL'));
      let ended: number | string | undefined;
      void running.exited.then((code) => (ended = code));
      if (anchor === 'first attempt') {
        await waitFor(() => ended !== undefined || attemptsSoFar(state).length > previous.length, {
          what: `${command} to start an attempt, or to end`,
          timeoutMs: 60_000,
          intervalMs: 20,
        });
      }
      // The fault itself: the kill lands at a random point of whatever the process has reached by then.
      await sleep(delay);
      let how: string;
      if (ended === undefined) {
        running.child.kill('SIGKILL');
        const code = await waitFor(() => (ended !== undefined ? ended : undefined), { what: 'the killed scheduler to be gone', timeoutMs: 30_000 });
        // It may have ended on its own just before the signal.
        how = code === 'SIGKILL' ? 'killed' : `exited ${code} before the kill`;
      } else {
        how = `exited ${ended} before the kill`;
      }
      if (how === 'killed') killed++;
      else exitedOnTheirOwn++;
      if (ended !== 'SIGKILL' && ended !== 0 && ended !== 1) {
        assert.fail(`${command} ended with ${ended}, neither killed nor a normal exit\n${running.output().stdout.slice(-3000)}${running.output().stderr}`);
      }

      const now = attemptsSoFar(state);
      assertNoHistoryLost(previous, now, `kill ${k}`);
      const open = now.filter((a) => a.ended_at === null);
      for (const a of open) leftOpen.set(a.id, a);
      if (open.length > 0) killedWithOpenAttempts++;
      const done = new Set(now.filter((a) => a.outcome === 'ok').map((a) => a.userid)).size;
      console.log(
        `kill ${k}/${KILLS}: ${command} ${how} ${delay} ms after its ${anchor}${mail}: ${now.length} attempts (+${now.length - previous.length}), ` +
          `${open.length} open, ${now.filter((a) => a.outcome === 'interrupted').length} interrupted so far, ${done}/${users.length} users backed up at least once`,
      );
      previous = now;
    }

    await bed.disconnect();

    // One last run, left alone until every user is backed up with all their mail, then stopped the normal way.
    const lastStart = Date.now();
    const last = startCliProcess(['run', '-c', config]);
    t.after(() => void last.child.kill('SIGKILL'));
    let report: ReportJson | undefined;
    let short: string[] = [];
    await waitFor(
      async () => {
        // Its own work first: a cycle of this run, which began by closing what the last kill left open.
        if (!/"msg":"cycle end"/.test(last.output().stdout)) return false;
        const r = await runCliProcess(['report', '--json', '--max-age', '1h', '-c', config]);
        assert.equal(r.code, 0, r.stderr);
        report = JSON.parse(r.stdout) as ReportJson;
        if (report.users.length !== users.length || !report.users.every((u) => u.state === 'fresh')) return false;
        const held = await indexCounts(bed, 'message');
        short = users.filter((u) => held.get(u.userid) !== messages.get(u.userid)).map((u) => `${u.userid} ${held.get(u.userid)}/${messages.get(u.userid)}`);
        return short.length === 0;
      },
      {
        what: 'the last run to finish a cycle and every user to be backed up, with every message',
        timeoutMs: 120_000 + USER_COUNT * 2_000,
        intervalMs: 500,
        describe: () => `not fresh: ${JSON.stringify(report?.users.filter((u) => u.state !== 'fresh'))}; messages missing: ${short.join(', ')}`,
      },
    );
    const recovery = Date.now() - lastStart;
    let lastEnded: number | string | undefined;
    void last.exited.then((c) => (lastEnded = c));
    last.child.kill('SIGTERM');
    const code = await waitFor(() => lastEnded, { what: 'the last run to stop after SIGTERM', timeoutMs: 60_000, describe: () => last.output().stdout.slice(-2000) });
    assert.equal(code, 0, `the last run stops cleanly\n${last.output().stdout.slice(-3000)}${last.output().stderr}`);

    const final = attemptsSoFar(state);
    assertNoHistoryLost(previous, final, 'the last run');
    assert.deepEqual(final.filter((a) => a.ended_at === null), [], 'every attempt is closed');
    for (const a of leftOpen.values()) {
      const closed = final.find((b) => b.id === a.id);
      assert.ok(closedAsInterrupted(closed), `attempt ${a.id} (${a.userid}) a kill left open was closed as interrupted (or settled since): ${JSON.stringify(closed)}`);
    }
    for (const u of report!.users) assert.ok((u.chunks ?? 0) >= 1, `${u.userid}'s backup has a chunk`);
    const listed = await ctlBackupsList(bed);
    for (const u of users) assert.ok(listed.get(u.userid), `ctl_backups -j list verifies a backup of ${u.userid}`);

    const affected = new Set([...leftOpen.values()].map((a) => a.userid));
    console.log(
      `random SIGKILL (seed ${seed}): ${killed} kills (${exitedOnTheirOwn} runs ended before their kill), ${killedWithOpenAttempts} with attempts open; ` +
        `the tool closed ${leftOpen.size} interrupted attempts at the next start; users affected ${affected.size} (${[...affected].join(', ') || 'none'}); ` +
        `${final.length} attempts, history rows lost 0, users without a backup 0, messages missing from backups 0 of ${[...messages.values()].reduce((a, b) => a + b, 0)}; recovery (last start -> every user fresh) ${seconds(recovery)}`,
    );
  });
});

/**
 * Every attempt of `before` is in `after` (so the count never drops): the same user, start and
 * pattern; one that had ended is unchanged; one left open is either still open or interrupted.
 */
function assertNoHistoryLost(before: readonly AttemptRow[], after: readonly AttemptRow[], when: string): void {
  assert.ok(after.length >= before.length, `${when}: the attempt count went down from ${before.length} to ${after.length}`);
  const byId = new Map(after.map((a) => [a.id, a]));
  for (const a of before) {
    const now = byId.get(a.id);
    assert.ok(now, `${when}: attempt ${a.id} (${a.userid}) was lost`);
    assert.deepEqual([now.userid, now.started_at, now.pattern, now.kind], [a.userid, a.started_at, a.pattern, a.kind], `${when}: attempt ${a.id} changed`);
    // An attempt in doubt may still be settled as the success it was, once its chunk appears.
    const settled = a.in_doubt === 1 && closedAsInterrupted(now);
    if (a.ended_at !== null && !settled) assert.deepEqual(now, a, `${when}: attempt ${a.id}, ended before, changed`);
    else if (a.ended_at === null) assert.ok(now.ended_at === null || closedAsInterrupted(now), `${when}: attempt ${a.id}, open before, was closed as ${now.outcome}`);
  }
}

