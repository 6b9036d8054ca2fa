// `run` with a real Cyrus IMAP server beside one that greets and then never answers. What a user must
// see: the healthy server's users are backed up in the first cycle, the hung server fails its login
// within servers[].stepTimeout and is paused by its circuit breaker, the cycles go on without asking it
// again, and SIGTERM stops the scheduler at once, saying that no XBACKUP was in flight, even while the
// hung server is still being asked for its users.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { attemptsSoFar } from '../faults/support/fault-checks.js';
import { waitFor } from '../support/wait-for.js';
import { FakeImapServer, silentAfterGreeting } from '../imap/support/fake-imap-server.js';
import { writeBedConfig } from '../support/bed-config.js';
import { startCliProcess, type RunningCli } from '../support/run-cli.js';
import { useBed } from '../support/use-bed.js';

interface LogLine {
  msg: string;
  server?: string;
  userid?: string;
  outcome?: string;
  error?: string;
  xbackupsInFlight?: number;
}

const logLines = (stdout: string): LogLine[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

const env = { HUNG_PASSWORD: 'secret' };
/** Far longer than the tests: a stop that waited for the grace (with nothing in flight) would never end. */
const SHUTDOWN_GRACE = '1h';
/** A bound on a hang, not a measure: a stop that does not wait ends far sooner on any machine. */
const STOP_BOUND_MS = 60_000;

describe('run with one IMAP server that hangs after its greeting and one real Cyrus', () => {
  let hung: FakeImapServer;
  const { bed, work } = useBed({
    scratch: 'xbs-hung-run-',
    async setup() {
      for (const userid of ['h1', 'h2']) await bed.createUser(userid, { messages: 2 });
    },
  });

  /** The bed's imap1 (its users h*) and `hung`, with the given step timeout; a cycle every second. */
  async function start(name: string, hungStepTimeout: string): Promise<{ running: RunningCli; state: string }> {
    hung = await FakeImapServer.start(silentAfterGreeting());
    const dir = join(work, name);
    const config = writeBedConfig(bed, dir, {
      servers: [{ which: 'imap1', settings: { users: ['h*'] } }],
      extra:
        `  - { name: hung, host: 127.0.0.1, port: ${hung.port}, tls: none, user: admin, passwordEnv: HUNG_PASSWORD, stepTimeout: ${hungStepTimeout} }\n` +
        `policy:\n  schedule: "* * * * * *"\n  shutdownGrace: ${SHUTDOWN_GRACE}\nretry:\n  baseDelay: 1h\nbootstrap:\n  pause: 0s\n`,
    });
    const running = startCliProcess(['run', '-c', config], { env });
    return { running, state: join(dir, 'state.db') };
  }

  /** SIGTERM, then the exit: at once, not after the hour of shutdown grace. */
  async function terminate(running: RunningCli): Promise<number | string> {
    let exited = false;
    void running.exited.then(() => (exited = true));
    running.child.kill('SIGTERM');
    await waitFor(() => exited, { what: 'run to exit after SIGTERM', timeoutMs: STOP_BOUND_MS, describe: () => running.output().stdout });
    return running.exited;
  }

  test('the healthy server is backed up, the hung one paused and not asked again each cycle; SIGTERM says nothing was in flight', { timeout: 120_000 }, async (t) => {
    const { running, state } = await start('cycling', '2s');
    t.after(async () => {
      running.child.kill('SIGKILL');
      await hung.stop();
    });
    const lines = () => logLines(running.output().stdout);
    const paused = await waitFor(() => lines().find((l) => l.msg === 'server paused' && l.server === 'hung'), {
      what: 'hung paused by its circuit breaker',
      timeoutMs: 60_000,
      describe: () => running.output().stdout,
    });
    assert.match(paused.error ?? '', /^hung: .*no answer within 2 s \(servers\[\]\.stepTimeout\)/);
    // The log is in order: once the first cycle has ended, every line it wrote is there.
    const firstCycleEnd = await waitFor(() => {
      const i = lines().findIndex((l) => l.msg === 'cycle end');
      return i >= 0 ? i : undefined;
    }, { what: 'the first cycle to end', timeoutMs: 60_000, describe: () => running.output().stdout });
    const backedUp = lines().slice(0, firstCycleEnd).filter((l) => l.msg === 'backup attempt' && l.outcome === 'ok').map((l) => l.userid);
    assert.deepEqual(backedUp.sort(), ['h1', 'h2'], `the first cycle, which met the hung server, backed up h1 and h2\n${running.output().stdout}`);
    assert.ok(['h1', 'h2'].every((u) => attemptsSoFar(state).some((a) => a.userid === u && a.server === 'imap1' && a.outcome === 'ok')), 'and recorded them');
    const cyclesSoFar = lines().filter((l) => l.msg === 'cycle end').length;
    await waitFor(() => lines().filter((l) => l.msg === 'cycle end').length >= cyclesSoFar + 3, {
      what: 'three more cycles',
      timeoutMs: 60_000,
      describe: () => running.output().stdout,
    });
    assert.equal(hung.connections, 1, 'the paused server is not asked for its users again every cycle');

    assert.equal(await terminate(running), 0, running.output().stderr);
    const stopping = lines().find((l) => l.msg.startsWith('stopping'));
    assert.equal(stopping?.xbackupsInFlight, 0, JSON.stringify(stopping));
    assert.doesNotMatch(running.output().stdout, /still in flight/);
    assert.match(running.output().stdout, /"msg":"scheduler stopped"/);
  });

  test('SIGTERM while the hung server is being asked for its users: run stops at once, saying no XBACKUP was in flight', { timeout: 120_000 }, async (t) => {
    // A step timeout far longer than the test: only the stop can end the wait for its answer.
    const { running } = await start('term-in-discovery', '1h');
    t.after(async () => {
      running.child.kill('SIGKILL');
      await hung.stop();
    });
    await waitFor(() => hung.commands.length > 0 || hung.connections > 0, { what: 'run to ask hung for its users', timeoutMs: 60_000, describe: () => running.output().stdout });
    assert.equal(await terminate(running), 0, running.output().stderr);
    const { stdout } = running.output();
    const lines = logLines(stdout);
    assert.ok(lines.some((l) => l.msg === 'stopping: no new work; no XBACKUP in flight'), stdout);
    assert.doesNotMatch(stdout, /still in flight/);
    assert.ok(!lines.some((l) => l.msg === 'server paused' && l.server === 'hung'), `a discovery cut short by the stop is not the server's failure\n${stdout}`);
  });
});
