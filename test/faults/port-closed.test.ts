// Fault: the network between the tool and one IMAP server cut in the middle of an XBACKUP. imap1 is
// reached through a TCP proxy (support/tcp-proxy.ts) that resets both sides of every connection at
// once; imap2 is reached directly. What a user must see, from one `run --once` cycle: the dropped
// connection reported for imap1 with a clear message, the users of the cut command recorded as
// failed and in doubt (not backed up, not left open), imap2 backed up in the same cycle, and a
// single cut not mistaken for the "channel probably not configured" pattern (spec §7). A later cycle
// backs imap1's users up, with every message. The second test keeps the network down for a while
// after the cut (the proxy resets new connections): `run` pauses imap1 and probes it with backoff,
// imap2 goes on, and imap1's users are backed up soon after the network returns.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess, startCliProcess } from '../support/run-cli.js';
import { attemptsSoFar, messagesInBackup, reportUsers, seconds, stagedFiles } from './support/fault-checks.js';
import { waitFor } from '../support/wait-for.js';
import { useBed } from '../support/use-bed.js';
import { TcpProxy } from './support/tcp-proxy.js';

const IMAP1_USERS = ['p1', 'p2', 'pbig'];
const IMAP2_USERS = ['q1', 'q2', 'q3'];
/** New mail for pbig before the cycle: 1,000 messages of 100 kB take about 1.5 s to back up, long enough to cut under. */
const NEW_MAIL = { messages: 1_000, messageBytes: 100_000 };
const MAX_AGE_S = 2;
const TEST_TIMEOUT_MS = 240_000;

interface LogLine {
  msg: string;
  level: string;
  userid?: string;
  server?: string;
  outcome?: string;
  error?: string;
  inDoubt?: boolean;
}

const logLines = (stdout: string): LogLine[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

describe('fault: the connection to one IMAP server cut mid-XBACKUP', () => {
  let proxy: TcpProxy;
  /** What pbig holds on imap1, so each test knows what its backup must hold. */
  let pbigMessages = 2;

  const { bed, work } = useBed({
    bed: { secondImapServer: true },
    scratch: 'xbs-fault-port-closed-',
    async setup() {
      proxy = await TcpProxy.start({ host: bed.imap.host, port: bed.imap.port });
      for (const userid of IMAP1_USERS) await bed.createUser(userid, { messages: 2 });
      for (const userid of IMAP2_USERS) await bed.createUser(userid, { server: 'imap2', messages: 2 });
    },
    teardown: () => proxy?.close(),
  });

  /**
   * Waits until an XBACKUP went out through the proxy and backupd is receiving pbig's new mail, then
   * cuts every proxied connection before the command's tagged answer.
   */
  const cutMidXbackup = async (stillRunning: () => void, networkStaysDown = false): Promise<{ cutAt: number; cut: number }> => {
    const victim = await waitFor(
      () => {
        stillRunning();
        const c = proxy.findClientText(/ XBACKUP /);
        return c && stagedFiles(bed) >= 100 ? c : undefined;
      },
      { what: 'an XBACKUP on imap1 with pbig\'s transfer under way', timeoutMs: 60_000, intervalMs: 10 },
    );
    if (networkStaysDown) proxy.refuseNew();
    const cutAt = Date.now();
    const cut = proxy.cutAll();
    const tag = victim.sentByClient.split('\r\n').findLast((l) => / XBACKUP /.test(l))!.split(' ')[0]!;
    assert.doesNotMatch(victim.sentByServer, new RegExp(`^${tag} `, 'm'), 'the cut came before the tagged answer');
    assert.ok(cut >= 1);
    return { cutAt, cut };
  };

  test('imap1 reports the drop, its cut users are in doubt, imap2 is backed up in the same cycle, a later cycle recovers', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const dir = join(work, 'cut');
    const state = join(dir, 'state.db');
    const config = writeBedConfig(bed, dir, {
      servers: [
        { which: 'imap1', settings: { port: proxy.port } },
        { which: 'imap2' },
      ],
      // Users fall due by age alone: unchanged, the comparison with their mailboxes would keep them fresh.
      extra: `policy:\n  maxAge: ${MAX_AGE_S}s\n  compareLive: false\nretry:\n  baseDelay: 1s\n  maxDelay: 2s\n  inDoubtGrace: 10m\n`,
    });
    const seed = await runCliProcess(['backup', '*', '-c', config], { timeoutMs: 60_000 });
    assert.equal(seed.code, 0, `seeding backs everyone up\n${seed.stdout}${seed.stderr}`);
    await bed.appendMessages('pbig', NEW_MAIL.messages, NEW_MAIL.messageBytes);
    pbigMessages += NEW_MAIL.messages;
    await bed.disconnect();
    await waitFor(async () => (await reportUsers(config)).every((u) => u.state === 'stale'), { what: 'every user stale', timeoutMs: 30_000, intervalMs: 250 });

    const cycleStart = Date.now();
    const cycle = startCliProcess(['run', '--once', '-c', config]);
    t.after(() => void cycle.child.kill('SIGKILL'));
    let exited = false;
    void cycle.exited.then(() => (exited = true));
    const { cutAt, cut } = await cutMidXbackup(() => {
      if (exited) assert.fail(`the cycle ended before the cut\n${cycle.output().stdout}`);
    });

    const code = await waitFor(() => (exited ? cycle.exited : undefined), { what: 'run --once to end after the cut', timeoutMs: 90_000 });
    const { stdout, stderr } = cycle.output();
    const show = `exit ${code}\n--- stdout\n${stdout}--- stderr\n${stderr}`;
    assert.equal(code, 1, `a cycle with failures exits 1, and does not crash\n${show}`);
    const lines = logLines(stdout);

    // imap1: the users of the cut command failed, in doubt, with a clear message; none is open or counted as backed up.
    const attempts = attemptsSoFar(state).filter((a) => a.started_at >= cycleStart);
    assert.deepEqual(attempts.filter((a) => a.ended_at === null), [], 'no attempt is left open');
    const cutCommand = attempts.filter((a) => a.server === 'imap1' && a.started_at <= cutAt && a.ended_at! >= cutAt);
    assert.ok(cutCommand.some((a) => a.userid === 'pbig'), `pbig's command was cut: ${JSON.stringify(attempts)}`);
    const inDoubt = cutCommand.filter((a) => a.outcome !== 'ok');
    assert.ok(inDoubt.some((a) => a.userid === 'pbig'), `pbig is not counted as backed up: ${JSON.stringify(cutCommand)}`);
    for (const a of inDoubt) {
      assert.equal(a.outcome, 'error', JSON.stringify(a));
      assert.equal(a.in_doubt, 1, `imapd may go on with ${a.userid}'s backup, so it is in doubt: ${JSON.stringify(a)}`);
      assert.match(a.error ?? '', /^imap1: XBACKUP .* connection lost before the tagged answer/, JSON.stringify(a));
      const logged = lines.find((l) => l.msg === 'backup attempt' && l.userid === a.userid && l.server === 'imap1');
      assert.equal(logged?.inDoubt, true, `the log says ${a.userid} is in doubt\n${show}`);
      assert.equal(logged?.level, 'warn', `a failed attempt is a warning\n${show}`);
    }
    // A user reported before the cut keeps its own, verified OK.
    for (const a of cutCommand.filter((x) => x.outcome === 'ok')) assert.ok(a.ended_at! >= a.started_at);
    const paused = lines.find((l) => l.msg === 'server paused' && l.server === 'imap1');
    assert.ok(paused, `imap1 is paused after the dropped connection\n${show}`);
    assert.match(paused.error ?? '', /connection lost before the tagged answer/);
    assert.equal(paused.level, 'warn');
    assert.ok(lines.some((l) => l.msg === 'backup attempt' && l.server === 'imap2' && l.outcome === 'ok' && l.level === 'info'), `a success is info\n${show}`);
    // One cut is not the two-drops-in-a-row pattern of an unconfigured channel.
    assert.doesNotMatch(stdout, /dropped \d+ times in a row/, show);
    assert.equal(serverHealth(state, 'imap1').dropped_in_a_row, 1);

    // imap2, not proxied, in the very same cycle: every user backed up.
    for (const userid of IMAP2_USERS) {
      const mine = attempts.filter((a) => a.userid === userid);
      assert.ok(mine.length >= 1 && mine.every((a) => a.outcome === 'ok' && a.server === 'imap2'), `${userid} backed up on imap2 in the cut cycle: ${JSON.stringify(mine)}`);
    }
    assert.ok(!lines.some((l) => l.msg === 'server paused' && l.server === 'imap2'), `imap2 is not paused\n${show}`);

    // imapd goes on with an XBACKUP whose client is gone: pbig's index soon shows the chunk, which ends
    // its doubt long before the 10-minute grace.
    const pbigCut = inDoubt.find((a) => a.userid === 'pbig')!;
    await waitFor(
      async () => {
        const last = (await reportUsers(config)).find((u) => u.userid === 'pbig')?.lastBackup;
        return last !== null && last !== undefined && Date.parse(last) >= Math.floor(pbigCut.started_at / 1000) * 1000;
      },
      { what: 'pbig\'s backup finished by the server after the cut', timeoutMs: 60_000, intervalMs: 250 },
    );
    const serverFinished = Date.now() - cutAt;

    // Later cycles: imap1's users are backed up and verified again.
    const runs: string[] = [];
    await waitFor(
      async () => {
        const later = await runCliProcess(['run', '--once', '-c', config], { timeoutMs: 90_000 });
        runs.push(`exit ${later.code}: ${logLines(later.stdout).filter((l) => l.msg === 'backup attempt' || l.msg === 'server paused').map((l) => `${l.msg} ${l.userid ?? l.server} ${l.outcome ?? ''}`).join('; ')}`);
        assert.ok(later.code === 0 || later.code === 1, `run --once does not crash: ${later.stderr}`);
        const since = attemptsSoFar(state).filter((a) => a.started_at > cutAt);
        return IMAP1_USERS.every((u) => since.some((a) => a.userid === u && a.outcome === 'ok'));
      },
      { what: 'every imap1 user backed up again after the cut', timeoutMs: 120_000, intervalMs: 500, describe: () => runs.join('\n') },
    );
    const recovery = Date.now() - cutAt;
    assert.deepEqual(attemptsSoFar(state).filter((a) => a.ended_at === null), [], 'no attempt is left open');
    assert.equal(serverHealth(state, 'imap1').dropped_in_a_row, 0, 'a command that went through closes the breaker');
    const messages = await messagesInBackup(bed, 'pbig');
    assert.equal(messages, pbigMessages, 'every message of pbig is in its backup');
    const users = await reportUsers(config, ['--max-age', '1h']);
    assert.ok(users.every((u) => u.state === 'fresh'), JSON.stringify(users));
    console.log(
      `network cut mid-XBACKUP (${cut} connection(s) reset ${seconds(cutAt - cycleStart)} into the cycle): imap1 paused, ` +
        `users in doubt ${inDoubt.map((a) => a.userid).join(', ')} ("${inDoubt[0]!.error}"); imap2 unaffected (${IMAP2_USERS.length} ok in the same cycle); ` +
        `imapd finished pbig on its own within ${seconds(serverFinished)}; data lost ${pbigMessages - messages} messages; recovery (cut -> imap1 users verified again) ${seconds(recovery)} over ${runs.length} more run --once`,
    );
  });

  test('the network stays down after the cut: imap1 is paused and probed with backoff, imap2 goes on, all recover when it returns', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const dir = join(work, 'outage');
    const state = join(dir, 'state.db');
    const config = writeBedConfig(bed, dir, {
      servers: [
        { which: 'imap1', settings: { port: proxy.port } },
        { which: 'imap2' },
      ],
      extra: 'policy:\n  schedule: "* * * * * *"\n  maxAge: 3s\nretry:\n  baseDelay: 1s\n  maxDelay: 4s\n  inDoubtGrace: 10m\n',
    });
    await bed.appendMessages('pbig', NEW_MAIL.messages, NEW_MAIL.messageBytes);
    pbigMessages += NEW_MAIL.messages;
    await bed.disconnect();
    const running = startCliProcess(['run', '-c', config]);
    t.after(() => void running.child.kill('SIGKILL'));
    let exited = false;
    void running.exited.then(() => (exited = true));
    const alive = () => {
      if (exited) assert.fail(`run exited\n${running.output().stdout.slice(-4000)}${running.output().stderr}`);
    };

    const { cutAt } = await cutMidXbackup(alive, true);
    t.after(() => proxy.acceptNew());
    // The network stays down until the outage has shown what it must: imap1 paused and probed again (two
    // failed commands after the cut), and imap2 backed up meanwhile; then it returns.
    const endedSinceCut = () => attemptsSoFar(state).filter((a) => a.started_at > cutAt && a.ended_at !== null);
    await waitFor(
      () => {
        alive();
        const since = endedSinceCut();
        const imap1Failed = new Set(since.filter((a) => a.server === 'imap1' && a.outcome !== 'ok').map((a) => a.started_at)).size;
        return imap1Failed >= 2 && since.some((a) => a.server === 'imap2' && a.outcome === 'ok');
      },
      { what: 'imap1 probed twice in vain and imap2 backed up, with the network down', timeoutMs: 120_000, intervalMs: 100, describe: () => JSON.stringify(endedSinceCut()) },
    );
    const backAt = Date.now();
    proxy.acceptNew();
    alive();
    // Judged: the attempts that began after the cut and ended before the network returned.
    const during = attemptsSoFar(state).filter((a) => a.started_at > cutAt && a.ended_at !== null && a.ended_at < backAt);
    const imap1During = during.filter((a) => a.server === 'imap1');
    // Nothing reached imapd while the network was down: a failed connect is not in doubt.
    for (const a of imap1During) {
      assert.equal(a.outcome, 'error', JSON.stringify(a));
      assert.equal(a.in_doubt, 0, `nothing was sent, so ${a.userid} is not in doubt: ${JSON.stringify(a)}`);
      assert.match(a.error ?? '', /imap1/, JSON.stringify(a));
    }
    const imap1Commands = new Set(imap1During.map((a) => a.started_at)).size;
    assert.ok(during.some((a) => a.server === 'imap2' && a.outcome === 'ok'), `imap2 is backed up during the outage: ${JSON.stringify(during)}`);
    assert.ok(!during.some((a) => a.server === 'imap2' && a.outcome !== 'ok'), `imap2 is unaffected: ${JSON.stringify(during)}`);

    await waitFor(
      () => {
        alive();
        const since = attemptsSoFar(state).filter((a) => a.started_at >= backAt);
        return IMAP1_USERS.every((u) => since.some((a) => a.userid === u && a.outcome === 'ok'));
      },
      { what: 'every imap1 user backed up again after the network returned', timeoutMs: 90_000, intervalMs: 250 },
    );
    const recovery = Date.now() - backAt;

    running.child.kill('SIGTERM');
    const code = await waitFor(() => (exited ? running.exited : undefined), { what: 'run to exit after SIGTERM', timeoutMs: 90_000 });
    const { stdout, stderr } = running.output();
    assert.equal(code, 0, stderr);
    assert.deepEqual(attemptsSoFar(state).filter((a) => a.ended_at === null), [], 'every attempt is closed after SIGTERM');
    assert.match(stdout, /"msg":"server paused"/);
    // A cut followed by refused connections is not the two-drops-in-a-row pattern of an unconfigured channel.
    assert.doesNotMatch(stdout, /dropped \d+ times in a row/);
    const messages = await messagesInBackup(bed, 'pbig');
    assert.equal(messages, pbigMessages, 'every message of pbig is in its backup');
    console.log(
      `network down ${seconds(backAt - cutAt)} after a cut: ${proxy.refused} connection(s) refused, ${imap1Commands} XBACKUP command(s) tried on imap1 meanwhile (breaker)` +
        `${imap1During[0] ? `, failing with "${imap1During[0].error}"` : ''}, ` +
        `imap2 kept going; data lost ${pbigMessages - messages} messages; recovery (network back -> imap1 users verified again) ${seconds(recovery)}`,
    );
  });
});

/** The breaker's row for a server, straight from the state database. */
function serverHealth(stateFile: string, server: string): { dropped_in_a_row: number; paused_until: number | null } {
  const db = new Database(stateFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT dropped_in_a_row, paused_until FROM server_state WHERE server = ?').get(server) as { dropped_in_a_row: number; paused_until: number | null };
  } finally {
    db.close();
  }
}
