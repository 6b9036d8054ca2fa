import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { USER_STATES } from '../../src/staleness/user-state.js';
import { writeBedConfig } from '../support/bed-config.js';
import { freePort } from '../support/free-port.js';
import { repoRoot } from '../support/paths.js';
import { parsePrometheusText, sampleValue, withoutNodeGaugesNamedTotal } from '../support/prometheus-text.js';
import { runCliProcess, startCliProcess, type RunningCli } from '../support/run-cli.js';
import { waitFor } from '../support/wait-for.js';
import { useBed } from '../support/use-bed.js';

const CHROMIUM = '/usr/bin/chromium';
const PROMTOOL = '/usr/bin/promtool';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SCREENSHOT = join(repoRoot, 'test-artifacts', 'status-page.png');
const TOKEN = 'status-page-test-token';

interface StatusJson {
  generatedAt: string;
  classifiedAt: string;
  maxAgeSeconds: number;
  counts: Record<string, number>;
  users: Array<{ userid: string; state: string; ageSeconds: number | null; error: string | null }>;
}

async function backup(config: string, ...userids: string[]): Promise<void> {
  const r = await runCliProcess(['backup', ...userids, '-c', config]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

describe('status page in headless Chromium, against real Cyrus', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: apt-get install chromium (.ci/run installs it)` }, () => {
  let running: RunningCli | undefined;
  let browser: Browser | undefined;
  let base: string;
  const unreadableFiles: string[] = [];
  const auth = { Authorization: `Bearer ${TOKEN}` };

  const { bed, work } = useBed({
    scratch: 'xbs-status-page-',
    async teardown() {
      await browser?.close();
      if (running) {
        running.child.kill('SIGTERM');
        assert.equal(await running.exited, 0, running.output().stderr);
      }
      for (const f of unreadableFiles) chmodSync(f, 0o600);
    },
  });

  // The fleet, its backups of different ages and the running scheduler, after useBed's own before hook.
  before(async () => {
    const fleet = ['anne', 'anne.smith', 'bob', 'carla', 'frank', 'gina', 'newhire1', 'newhire2', 'newhire3', 'newhire4'];
    for (const u of [...fleet, 'olga.left']) await bed.createUser(u, { messages: 2 });
    await bed.disconnect();

    // Seeded under a state database of their own, so the scheduler's ages come from the indexes alone.
    const seed = writeBedConfig(bed, join(work, 'seed'));
    const tokenFile = join(work, 'http.token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const port = await freePort();
    base = `http://127.0.0.1:${port}/`;
    const config = writeBedConfig(bed, join(work, 'run'), {
      servers: [{ which: 'imap1', settings: { users: fleet.map((u) => (u.startsWith('newhire') ? 'newhire*' : u)).filter((u, i, all) => all.indexOf(u) === i) } }],
      // Ages from the backups alone, so that the page has every state to show: in sync, they would all be fresh.
      extra: `policy:\n  maxAge: 20s\n  compareLive: false\nretry:\n  baseDelay: 1h\n  maxDelay: 6h\nbootstrap:\n  groupSize: 2\n  pause: 1h\nhttp:\n  listen: "127.0.0.1:${port}"\n  tokenFile: ${tokenFile}\n`,
    });

    // Backups of different ages; frank's and gina's data files become unreadable for backupd, and
    // gina fails three times before the scheduler starts; olga.left is on no configured server.
    const t0 = Date.now();
    await backup(seed, 'frank', 'gina', 'olga.left');
    const files = await bed.cyrDbtoolShowBackupsDb();
    for (const u of ['frank', 'gina']) {
      unreadableFiles.push(files.get(u)!);
      chmodSync(files.get(u)!, 0);
    }
    for (let i = 0; i < 3; i++) assert.equal((await runCliProcess(['backup', 'gina', '-c', config])).code, 1);
    await sleep(t0 + 7000 - Date.now());
    await backup(seed, 'anne', 'anne.smith');
    await sleep(t0 + 14_000 - Date.now());
    await backup(seed, 'bob');
    await sleep(t0 + 21_000 - Date.now());
    await backup(seed, 'carla');

    // Each test waits for the first cycle's end itself (firstCycleEnded), failing if it never comes.
    running = startCliProcess(['run', '-c', config]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  /** Until the first cycle has ended: /status then shows the fleet as that cycle left it. */
  const firstCycleEnded = () =>
    waitFor(
      async () => {
        const summary = await fetch(new URL('status/summary', base), { headers: auth }).then((r) => r.json() as Promise<{ scheduler: { cycles: unknown[] } }>, () => null);
        return (summary?.scheduler.cycles.length ?? 0) > 0;
      },
      { what: 'the first cycle to end', timeoutMs: 120_000, describe: () => running!.output().stdout.slice(-2000) },
    );

  test('the page shows the numbers /status has, and a screenshot is saved', async () => {
    await firstCycleEnded();
    // The browser logs in the way a person would: the token as password when challenged.
    const context = await browser!.newContext({ viewport: { width: 1360, height: 900 }, httpCredentials: { username: 'admin', password: TOKEN } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(base);
    await page.waitForSelector('body[data-ready="1"]');

    // A cycle may end between two reads: compare the page with the /status of the same cycle's snapshot.
    let status: StatusJson | undefined;
    for (let i = 0; i < 5 && status?.classifiedAt !== (await page.getAttribute('body', 'data-classified-at')); i++) {
      if (i > 0) await page.reload().then(() => page.waitForSelector('body[data-ready="1"]'));
      status = (await (await fetch(new URL('status', base), { headers: auth })).json()) as StatusJson;
    }
    assert.equal(await page.getAttribute('body', 'data-classified-at'), status!.classifiedAt);

    // Every state the setup made: frank's refresh failed (stale), gina failing, olga.left orphan, one group of
    // two first backups (the other two new hires missing). The backups seeded seconds apart are fresh or stale
    // by their age at the snapshot, which a slow machine makes larger: judged by the ages /status shows.
    const shown = JSON.stringify(status!.users.map((u) => [u.userid, u.state, u.ageSeconds]));
    const state = (userid: string) => status!.users.find((u) => u.userid === userid)?.state;
    assert.deepEqual(['frank', 'gina', 'olga.left'].map(state), ['stale', 'failing', 'orphan'], shown);
    const newhires = status!.users.filter((u) => u.userid.startsWith('newhire')).map((u) => u.state).sort();
    assert.deepEqual(newhires, ['fresh', 'fresh', 'missing', 'missing'], shown);
    for (const userid of ['anne', 'anne.smith', 'bob', 'carla']) {
      const u = status!.users.find((x) => x.userid === userid)!;
      // Within a second of maxAge, the rounding of ageSeconds leaves either state possible.
      const near = Math.abs(u.ageSeconds! - status!.maxAgeSeconds) <= 1;
      assert.ok(near ? ['fresh', 'stale'].includes(u.state) : u.state === (u.ageSeconds! < status!.maxAgeSeconds ? 'fresh' : 'stale'), `${userid}: ${shown}`);
    }
    const tally = Object.fromEntries(USER_STATES.map((s) => [s, status!.users.filter((u) => u.state === s).length]));
    assert.deepEqual(status!.counts, tally, shown);
    assert.equal(status!.users.length, 11, shown);
    // Ages, and so fresh or stale, are those of each request: the two reads may straddle a user's maxAge.
    const tile = async (state: string) => Number(await page.textContent(`[data-count="${state}"]`));
    for (const state of USER_STATES.filter((s) => s !== 'fresh' && s !== 'stale')) assert.equal(await tile(state), status!.counts[state], `${state} tile`);
    assert.equal((await tile('fresh')) + (await tile('stale')), status!.counts.fresh + status!.counts.stale, 'fresh and stale tiles');
    assert.equal(await page.getAttribute('[data-total]', 'data-total'), String(status!.users.length));
    assert.equal(await page.getAttribute('[data-missing]', 'data-missing'), String(status!.counts.missing));

    const buckets = await page.$$eval('[data-bucket]', (cols) => cols.map((c) => [c.getAttribute('data-bucket'), Number(c.getAttribute('data-users'))] as const));
    const aged = status!.users.filter((u) => u.state !== 'orphan' && u.ageSeconds !== null).length;
    const never = status!.users.filter((u) => u.ageSeconds === null).length;
    assert.equal(buckets.length, 6);
    assert.equal(buckets.slice(0, 5).reduce((sum, [, n]) => sum + n, 0), aged, 'every backed-up user (orphans aside) is in an age bar');
    assert.deepEqual(buckets[5], ['never', never]);
    // The histogram says what it leaves out of the header's total: olga.left, the orphan.
    assert.equal(aged + never + 1, status!.users.length);
    assert.equal(await page.textContent('#buckets-note'), `${aged + never} of ${status!.users.length} users; left out: 1 orphan (never backed up by us)`);

    // First backups: 2 missing of the 10 users we back up, and no contradiction in the words.
    const words = (await page.textContent('#bootstrap-words'))!;
    assert.match(words, /^\d+ of 10 users have a backup · next group /, words);
    assert.doesNotMatch(words, /every user has a first backup/);
    const barWidth = await page.getAttribute('.progress div', 'style');
    assert.equal(barWidth, `width: ${((10 - 2) / 10) * 100}%;`, 'the bar is the share that has had its first backup');

    const oldestAge = Math.max(...status!.users.filter((u) => u.state !== 'orphan' && u.ageSeconds !== null).map((u) => u.ageSeconds!));
    const first = await page.textContent('#stalest tbody tr td');
    assert.equal(status!.users.find((u) => u.userid === first)?.ageSeconds, oldestAge, 'the stalest backup comes first');
    const problems = await page.textContent('#problems');
    assert.match(problems!, /gina/);
    assert.match(problems!, /3 failed attempts in a row/);
    // The scheduler works (/healthz 200), but gina is failing and frank stale: not a green "healthy".
    assert.equal(await page.textContent('#health'), 'needs attention');
    assert.match((await page.textContent('#reasons'))!, /1 user failing/);
    assert.ok((await page.$$('#cycles tbody tr')).length >= 1, 'the first cycle is listed');
    assert.match((await page.textContent('#servers'))!, /imap1\s*ok/);
    assert.match((await page.textContent('#scheduler'))!, /Next cycle.*(in |after this one)/);

    mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(errors, [], 'no script errors or CSP refusals');
    await context.close();
  });

  test('/metrics of the same run: the fleet\'s gauges, the attempts recorded before and during it, first-backup durations', async () => {
    await firstCycleEnded();
    const [metricsText, status, summary] = await Promise.all([
      fetch(new URL('metrics', base), { headers: auth }).then((r) => r.text()),
      fetch(new URL('status', base), { headers: auth }).then((r) => r.json() as Promise<StatusJson>),
      fetch(new URL('status/summary', base), { headers: auth }).then((r) => r.json() as Promise<{ scheduler: { lastSuccessAt: string | null; cycles: Array<{ result: string; because: string[] }> } }>),
    ]);
    const metrics = parsePrometheusText(metricsText);
    // Fresh or stale is decided by the age at each request: the reads may straddle a user's maxAge.
    for (const state of USER_STATES.filter((s) => s !== 'fresh' && s !== 'stale')) assert.equal(sampleValue(metrics, 'xbackup_users', { state }), status.counts[state], state);
    assert.equal(sampleValue(metrics, 'xbackup_users', { state: 'fresh' }) + sampleValue(metrics, 'xbackup_users', { state: 'stale' }), status.counts.fresh + status.counts.stale);
    assert.equal(sampleValue(metrics, 'xbackup_bootstrap_remaining_users'), status.counts.missing);
    // gina's three failed `backup` commands came from the state database; frank's refresh from this run.
    assert.equal(sampleValue(metrics, 'xbackup_attempts_total', { server: 'imap1', outcome: 'no' }), 4);
    assert.equal(sampleValue(metrics, 'xbackup_duration_seconds_count', { server: 'imap1', kind: 'first' }), 2);
    // frank's refresh failed: the first cycle ran, but did not do its due work. It is no success.
    const first = summary.scheduler.cycles.at(-1)!;
    assert.equal(first.result, 'failure');
    assert.equal(first.because.length, 1, first.because.join('; '));
    assert.match(first.because[0]!, /^1 of \d+ attempts failed$/, 'frank\'s; the others of the cycle (refreshes by age, the first group) succeeded');
    assert.ok(sampleValue(metrics, 'xbackup_cycles_total', { result: 'failure' }) >= 1);
    // In seconds since the epoch: the same moment the summary gives, once a later cycle (nothing due but what waits) succeeded.
    const lastSuccess = metrics.samples.find((x) => x.name === 'xbackup_cycle_last_success_timestamp_seconds');
    assert.equal(lastSuccess && Math.round(lastSuccess.value * 1000), summary.scheduler.lastSuccessAt === null ? undefined : Date.parse(summary.scheduler.lastSuccessAt));
  });

  test('/metrics passes promtool check metrics', { skip: existsSync(PROMTOOL) ? false : `${PROMTOOL} is absent (Debian package prometheus)` }, async () => {
    await firstCycleEnded();
    const metricsText = await fetch(new URL('metrics', base), { headers: auth }).then((r) => r.text());
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: withoutNodeGaugesNamedTotal(metricsText), encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });

  test('without the token the page is refused, /healthz is not', async () => {
    assert.equal((await fetch(base)).status, 401);
    assert.equal((await fetch(new URL('healthz', base))).status, 200);
  });
});
