// Notifications against real Cyrus, the receivers on loopback: the webhook hears a server paused when
// backupd stops under a running `run` and back when it returns, and a user turn failing (and recover);
// the ping URL hears each cycle start and end. The URL's token never reaches the log.
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess, startCliProcess, type RunningCli } from '../support/run-cli.js';
import { receivedEvents, startReceiver, type Receiver } from '../support/notify-receiver.js';
import { waitFor } from '../support/wait-for.js';
import { useBed } from '../support/use-bed.js';
import { attemptsSoFar } from '../faults/support/fault-checks.js';

const TOKEN = 'tok3n-never-logged';
const HOOK_PATH = `/hook/${TOKEN}`;
const PING_PATH = `/ping/${TOKEN}`;

function notifyConfig(hook: Receiver, ping: Receiver): string {
  return `notify:\n  webhook:\n    url: "${hook.base}${HOOK_PATH}"\n    timeout: 5s\n  ping:\n    url: "${ping.base}${PING_PATH}"\n    timeout: 5s\n`;
}

const FAST = 'policy:\n  schedule: "* * * * * *"\n  maxAge: 2s\n  failingAfter: 3\nretry:\n  baseDelay: 1s\n  maxDelay: 4s\nbootstrap:\n  pause: 0s\n';

async function stop(running: RunningCli): Promise<number | string> {
  running.child.kill('SIGTERM');
  return running.exited;
}

function eventsOf(hook: Receiver) {
  return receivedEvents(hook, HOOK_PATH) as Array<{ version: number; event: string; server?: string; userid?: string; summary: string; host: string; at: string; state?: string; previousState?: string; error?: string | null }>;
}

describe('notifications: webhook and ping against real Cyrus', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-notify-',
    async setup() {
      for (const userid of ['n1', 'n2', 'n3']) await bed.createUser(userid, { messages: 2 });
      for (const userid of ['g1', 'g2']) await bed.createUser(userid, { messages: 2 });
    },
  });

  test('backupd stopped under a running run: the webhook hears "server.paused", then "server.back" once backupd returns', async (t) => {
    const hook = await startReceiver();
    const ping = await startReceiver();
    t.after(() => Promise.all([hook.close(), ping.close()]));
    const dir = join(work, 'paused');
    const config = writeBedConfig(bed, dir, { servers: [{ which: 'imap1', settings: { users: ['n*'] } }], extra: FAST + notifyConfig(hook, ping) });
    const running = startCliProcess(['run', '-c', config]);
    const show = () => `${running.output().stdout.slice(-3000)}\nevents: ${JSON.stringify(eventsOf(hook).map((e) => e.summary))}`;
    try {
      // The first group finished: the three users have their first backup, and the ping heard a success.
      await waitFor(() => eventsOf(hook).some((e) => e.event === 'bootstrap.group-finished'), { what: 'the first-backup group finished', timeoutMs: 90_000, describe: show });
      await waitFor(() => ping.requests.some((r) => r.path === PING_PATH), { what: 'a success ping', timeoutMs: 60_000, describe: show });
      await bed.stopBackupd();
      t.after(() => bed.startBackupd().catch(() => undefined));
      const paused = await waitFor(() => eventsOf(hook).find((e) => e.event === 'server.paused'), { what: 'server.paused on the webhook', timeoutMs: 90_000, describe: show });
      assert.equal(paused.server, 'imap1');
      assert.equal(paused.version, 1);
      assert.match(paused.summary, /^server imap1 paused by its circuit breaker/);
      assert.match(String(paused.error), /Retry operation|backupd/i, JSON.stringify(paused));
      // Two more probes fail while backupd is down: each reopens the pause, none may say the server is back.
      const pausedAt = Date.parse(paused.at);
      const probes = () => new Set(attemptsSoFar(join(dir, 'state.db')).filter((a) => a.started_at > pausedAt && a.outcome !== null && a.outcome !== 'ok').map((a) => a.started_at)).size;
      await waitFor(() => probes() >= 2, { what: 'two failed probes after the pause', timeoutMs: 90_000, describe: () => `${probes()} probes; ${show()}` });
      await bed.startBackupd();
      const back = await waitFor(() => eventsOf(hook).find((e) => e.event === 'server.back'), { what: 'server.back on the webhook', timeoutMs: 120_000, describe: show });
      assert.equal(back.server, 'imap1');
      const kinds = eventsOf(hook).filter((e) => e.event.startsWith('server.')).map((e) => `${e.event} ${e.server}`);
      assert.deepEqual(kinds, ['server.paused imap1', 'server.back imap1'], 'one pause, one return: no flapping between probes');
      // Each cycle: a start ping, then its end: the URL itself on success, /fail otherwise; the cycles before the outage succeeded.
      const pings = ping.requests.map((r) => r.path.slice(PING_PATH.length) || '/');
      for (let i = 0; i + 1 < pings.length; i += 2) {
        assert.equal(pings[i], '/start', pings.join(' '));
        assert.ok(pings[i + 1] === '/' || pings[i + 1] === '/fail', pings.join(' '));
      }
      assert.equal(pings[1], '/', pings.join(' '));
      const request = hook.requests.find((r) => r.path === HOOK_PATH)!;
      assert.equal(request.method, 'POST');
      assert.match(String(request.headers['content-type']), /^application\/json/);
      assert.match(String(request.headers['user-agent']), /^xbackup-scheduler\//);
    } finally {
      assert.equal(await stop(running), 0, running.output().stderr);
    }
    const { stdout, stderr } = running.output();
    assert.ok(!`${stdout}${stderr}`.includes(TOKEN), 'the URLs\' token is never in the log');
    assert.match(stdout, /"msg":"notifications on"/);
    assert.match(stdout, new RegExp(`"webhook ${hook.base.replace(/[.]/g, '\\.')}/…"`));
  });

  test('a user made to fail three times: the webhook hears "user.failing", and "user.recovered" once it is backed up again', async (t) => {
    const hook = await startReceiver();
    const ping = await startReceiver();
    t.after(() => Promise.all([hook.close(), ping.close()]));
    const dir = join(work, 'failing');
    const config = writeBedConfig(bed, dir, { servers: [{ which: 'imap1', settings: { users: ['g*'] } }], extra: FAST + notifyConfig(hook, ping) });
    const seed = await runCliProcess(['backup', 'g*', '-c', config]);
    assert.equal(seed.code, 0, seed.stdout + seed.stderr);
    // backupd cannot open g2's backup any more: every attempt for g2 fails.
    const dataFile = (await bed.cyrDbtoolShowBackupsDb()).get('g2')!;
    chmodSync(dataFile, 0);
    t.after(() => chmodSync(dataFile, 0o600));
    const running = startCliProcess(['run', '-c', config]);
    const show = () => `${running.output().stdout.slice(-3000)}\nevents: ${JSON.stringify(eventsOf(hook).map((e) => e.summary))}`;
    try {
      const failing = await waitFor(() => eventsOf(hook).find((e) => e.event === 'user.failing'), { what: 'user.failing on the webhook', timeoutMs: 120_000, describe: show });
      assert.equal(failing.userid, 'g2');
      assert.equal(failing.state, 'failing');
      assert.ok(failing.previousState === 'fresh' || failing.previousState === 'stale', JSON.stringify(failing));
      assert.match(String(failing.error), /3 failed attempts in a row/);
      assert.ok(!eventsOf(hook).some((e) => e.userid === 'g1'), 'g1, backed up all along, raised nothing');
      chmodSync(dataFile, 0o600);
      const recovered = await waitFor(() => eventsOf(hook).find((e) => e.event === 'user.recovered'), { what: 'user.recovered on the webhook', timeoutMs: 120_000, describe: show });
      assert.equal(recovered.userid, 'g2');
      assert.equal(recovered.previousState, 'failing');
    } finally {
      assert.equal(await stop(running), 0, running.output().stderr);
    }
  });
});
