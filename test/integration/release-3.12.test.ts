// A real Cyrus 3.12 IMAP server (Debian sid), which has neither XBACKUP nor backupd, beside the 3.10
// backupd its channel points at. What an admin who upgraded one server too far must see: `check` says
// what was removed and what to do, and `run` pauses that server instead of asking it every cycle.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { releaseMissing } from '../cyrus/releases.js';
import { attemptsSoFar } from '../faults/support/fault-checks.js';
import { waitFor } from '../support/wait-for.js';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess, startCliProcess } from '../support/run-cli.js';
import { useBed } from '../support/use-bed.js';

const USERS = ['anne', 'bert', 'carl'];
// In CI a missing root fails the bed's start, saying how to build it; elsewhere the file says why it skipped.
const missing = process.env.CI ? undefined : (releaseMissing('3.12') ?? releaseMissing('3.10'));

describe('a Cyrus 3.12 IMAP server, which has no XBACKUP', { skip: missing }, () => {
  const { bed, work } = useBed({
    bed: { release: '3.12', backupRelease: '3.10' },
    scratch: 'xbs-release-3.12-',
    async setup() {
      for (const userid of USERS) await bed.createUser(userid, { messages: 2 });
    },
  });

  test('check names the release, says XBACKUP was removed and what to do, and sends no XBACKUP', async () => {
    const config = writeBedConfig(bed, join(work, 'check'));
    const check = await runCliProcess(['check', '-c', config]);
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.match(check.stdout, /^PASS imap1 login: .*Cyrus 3\.12\.\S+, hierarchy separator/m, check.stdout);
    assert.match(check.stdout, /^FAIL imap1 version: Cyrus 3\.12\.\S+ has no XBACKUP\. Cyrus 3\.12 removed XBACKUP and backupd: .*Keep it on 3\.10/m, check.stdout);
    assert.doesNotMatch(check.stdout, /imap1 XBACKUP/, 'the probe is not sent to a release that cannot answer it');
  });

  test('run pauses the server after its first XBACKUP and does not ask again in the cycles that follow', { timeout: 120_000 }, async (t) => {
    const dir = join(work, 'run');
    const config = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { maxConcurrent: 1 } }],
      extra: 'policy:\n  schedule: "* * * * * *"\nretry:\n  baseDelay: 1h\nbootstrap:\n  pause: 0s\n',
    });
    const running = startCliProcess(['run', '-c', config]);
    t.after(() => running.child.kill('SIGKILL'));
    const lines = () =>
      running
        .output()
        .stdout.split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; server?: string; error?: string });
    const paused = await waitFor(() => lines().find((l) => l.msg === 'server paused' && l.server === 'imap1'), {
      what: 'imap1 paused by its circuit breaker',
      timeoutMs: 60_000,
      describe: () => running.output().stdout,
    });
    assert.match(paused.error ?? '', /BAD Unrecognized command \(Cyrus 3\.12 removed XBACKUP and backupd/, JSON.stringify(paused));

    const cycleEnds = () => lines().filter((l) => l.msg === 'cycle end').length;
    await waitFor(() => cycleEnds() >= 1, { what: 'the first cycle to end', timeoutMs: 60_000, describe: () => running.output().stdout });
    const state = join(dir, 'state.db');
    const firstCycle = attemptsSoFar(state);
    const commands = (attempts: typeof firstCycle) => new Set(attempts.map((a) => `${a.pattern}@${a.started_at}`)).size;
    assert.equal(commands(firstCycle), 1, `one XBACKUP, then the breaker: ${JSON.stringify(firstCycle)}`);
    assert.ok(firstCycle.every((a) => a.outcome === 'no' && a.in_doubt === 0), JSON.stringify(firstCycle));

    const after = cycleEnds();
    await waitFor(() => cycleEnds() >= after + 3, { what: 'three more cycles', timeoutMs: 60_000, describe: () => running.output().stdout });
    assert.equal(attemptsSoFar(state).length, firstCycle.length, 'the paused server is not asked again each cycle');
    const report = await runCliProcess(['report', '--json', '-c', config]);
    const users = (JSON.parse(report.stdout) as { users: Array<{ userid: string; state: string }> }).users;
    assert.deepEqual(users.map((u) => [u.userid, u.state]).sort(), USERS.map((u) => [u, 'missing']), report.stdout);
  });
});
