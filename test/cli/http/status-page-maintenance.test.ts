// The status page draws damaged users and the maintenance lane: in headless Chromium, against the listener
// over a fixed run view (no Cyrus needed: the page only reads /status/summary).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SchedulerMetrics } from '../../../src/cli/http/metrics.js';
import type { RunView } from '../../../src/cli/http/run-view.js';
import { startHttpListener, type HttpListener } from '../../../src/cli/http/server.js';
import { statusSummary } from '../../../src/cli/http/status-summary.js';
import { fakeRunView, H, loopStatus, NOW, sampleFleet, user } from '../../support/fake-run-view.js';
import { repoRoot } from '../../support/paths.js';
import { sampleMaintenance } from '../../support/sample-maintenance.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const D = 24 * H;
const HEALTHY = { healthy: true, reasons: [] };

/** sampleFleet, with vera damaged and anne and bob deep-verified (anne 2 days ago, bob 40). */
function maintainedFleet() {
  const fleet = sampleFleet();
  const users = fleet.classification.users.map((u) =>
    u.userid === 'anne' ? { ...u, lastDeepVerify: NOW - 2 * D } : u.userid === 'bob' ? { ...u, lastDeepVerify: NOW - 40 * D } : u,
  );
  users.push(user('vera', 'damaged', H, { lastDeepVerify: NOW - D, error: 'ctl_backups verify at 2026-11-22T12:00:00.000Z found: chunk 7: checksum mismatch. Start a fresh backup' }));
  return { ...fleet, classification: { ...fleet.classification, users } };
}

const laneView = (withLane: boolean): RunView =>
  fakeRunView({ status: loopStatus({ fleet: maintainedFleet(), lastSuccessAt: NOW - 60_000, maintenance: withLane ? sampleMaintenance({ toolProblem: 'sudo: a password is required' }) : null }) });

describe('/status/summary', () => {
  test('damaged users head the problems; the deep verification in figures and a sentence; the lane when on', () => {
    const s = statusSummary(laneView(true), HEALTHY, NOW) as { fleet: { problems: Array<{ userid: string }>; problemsTotal: number; deepVerify: object; deepVerifySentence: string | null }; maintenance: { toolProblem: string } | null };
    assert.deepEqual(s.fleet.problems.map((u) => u.userid), ['vera', 'carol']);
    assert.deepEqual(s.fleet.deepVerify, { backups: 6, recent: 2, recentWithinSeconds: 30 * 86400, never: 3, oldest: '2026-10-14T12:00:00.000Z' });
    assert.equal(s.fleet.deepVerifySentence, 'deep-verified within 30d: 2 of 6 backups; 1 damaged');
    assert.equal(s.maintenance?.toolProblem, 'sudo: a password is required');
    assert.equal((statusSummary(fakeRunView({ status: loopStatus({ fleet: sampleFleet() }) }), HEALTHY, NOW) as { maintenance: unknown; fleet: { deepVerifySentence: unknown } }).maintenance, null);
  });
});

describe('the page in headless Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: apt-get install chromium` }, () => {
  let browser: Browser;
  const listeners: HttpListener[] = [];
  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    for (const l of listeners) await l.close();
  });

  async function open(view: RunView): Promise<Page> {
    const listener = await startHttpListener({ listen: { host: '127.0.0.1', port: 0 }, allowedHosts: [], token: undefined, view, metrics: new SchedulerMetrics(), logger: pino({ level: 'silent' }), now: () => NOW });
    listeners.push(listener);
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(listener.url.toString());
    await page.waitForSelector('body[data-ready="1"]');
    assert.deepEqual(errors, [], 'no script errors or CSP refusals');
    return page;
  }

  test('a damaged backup: its tile, the badge critical in red, first among the problems; the Maintenance card with the tool problem in red', async () => {
    const page = await open(laneView(true));
    assert.equal(await page.textContent('[data-count="damaged"]'), '1');
    assert.equal(await page.textContent('#health'), 'critical');
    assert.equal(await page.getAttribute('#health', 'class'), 'pill bad');
    assert.match((await page.textContent('#reasons'))!, /Users that need attention:1 user damaged1 user failing1 user stale/);
    assert.equal(await page.textContent('#problems tbody tr td'), 'vera');
    assert.match((await page.textContent('#problems'))!, /found: chunk 7: checksum mismatch/);
    assert.equal(await page.textContent('#deep'), 'deep-verified within 30d: 2 of 6 backups; 1 damaged');
    assert.equal(await page.isVisible('#maintenance-card'), true);
    const key = (k: string) => page.textContent(`#maintenance [data-key="${k}"]`);
    assert.match((await key('Window'))!, /^01:00-05:00: open, closes .*\(in (2h|1h 59m)\)$/);
    assert.match((await key('Running now'))!, /^verify anne \(rolling\) since /);
    assert.equal(await key('Due'), 'recheck 1 · compact 2 · rolling 40');
    assert.equal(await key('This opening'), '12 of 34 rolling verifications; 6 due deferred to the next openings');
    assert.equal(await page.textContent('#tool-problem'), 'ctl_backups cannot run: sudo: a password is required');
    assert.equal(await page.evaluate("getComputedStyle(document.getElementById('tool-problem')).color"), 'rgb(198, 40, 40)', 'in the red of failing');
    const runs = await page.$$eval('#maintenance tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(1).map((c) => c.textContent)));
    mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'test-artifacts', 'status-page-maintenance.png'), fullPage: true });
    assert.deepEqual(runs, [
      ['bob', 'verify (rolling)', 'ok'],
      ['carol', 'verify (rolling)', 'damaged: chunk 7: checksum mismatch'],
      ['dave', 'compact (compact)', 'ok'],
    ]);
  });

  test('maintenance off: no Maintenance card; nothing ever deep-verified and none damaged: no deep-verify line', async () => {
    const page = await open(fakeRunView({ status: loopStatus({ fleet: sampleFleet(), lastSuccessAt: NOW - 60_000 }) }));
    assert.equal(await page.isVisible('#maintenance-card'), false);
    assert.equal(await page.isVisible('#deep'), false);
    assert.equal(await page.textContent('[data-count="damaged"]'), '0');
    assert.equal(await page.textContent('#health'), 'needs attention');
  });
});
