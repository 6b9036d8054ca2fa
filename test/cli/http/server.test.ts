import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { SchedulerMetrics } from '../../../src/cli/http/metrics.js';
import type { RunView } from '../../../src/cli/http/run-view.js';
import { startHttpListener, type HttpListener } from '../../../src/cli/http/server.js';
import { ConfigErrors, ConfigError } from '../../../src/config/errors.js';
import { loadConfig, parseConfig } from '../../../src/config/load.js';
import { Secret } from '../../../src/config/secret.js';
import { fakeRunView, H, loopStatus, NOW, sampleFleet, user } from '../../support/fake-run-view.js';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text.js';
import { sampleMaintenance } from '../../support/sample-maintenance.js';

const TOKEN = 's3cret-token';
const silent = pino({ level: 'silent' });

async function listen(view: RunView, token?: string, allowedHosts: string[] = []): Promise<HttpListener> {
  return startHttpListener({ listen: { host: '127.0.0.1', port: 0 }, allowedHosts, token: token === undefined ? undefined : new Secret(token, 'test'), view, metrics: new SchedulerMetrics(), logger: silent, now: () => NOW });
}

/** A GET with the Host header as given (fetch sets its own), or over HTTP/1.0 without one. */
function getWithHost(url: URL, host: string | null): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk)).on('error', reject);
    socket.on('end', () => resolve({ status: Number(answer.split(' ')[1]), body: answer.slice(answer.indexOf('\r\n\r\n') + 4) }));
    socket.end(host === null ? `GET ${url.pathname} HTTP/1.0\r\n\r\n` : `GET ${url.pathname} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}

describe('HTTP listener', () => {
  const status = loopStatus({ fleet: sampleFleet(), lastSuccessAt: NOW - 60_000 });
  let open: HttpListener;
  let guarded: HttpListener;

  before(async () => {
    open = await listen(fakeRunView({ status }));
    guarded = await listen(fakeRunView({ status }), TOKEN);
  });
  after(async () => {
    await open?.close();
    await guarded?.close();
  });

  test('/healthz: 200 ok while cycles succeed; 503 with the reasons when a server is paused or cycles stopped', async () => {
    const ok = await fetch(new URL('healthz', open.url));
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'ok\n');
    const health = new Map([['imap2', { pausedUntil: NOW + 60_000, consecutiveFailures: 1, droppedInARow: 0, lastError: 'connection refused', trippedBy: 'xbackup' as const }]]);
    const old = loopStatus({ fleet: sampleFleet(), lastSuccessAt: NOW - 31 * 60_000 });
    const sick = await listen(fakeRunView({ status: old, health }));
    try {
      const bad = await fetch(new URL('healthz', sick.url));
      assert.equal(bad.status, 503);
      assert.deepEqual((await bad.text()).trim().split('\n'), [
        'the last successful cycle ended 31m ago, more than 3 schedules of 10m',
        'imap2 is paused by its circuit breaker until a probe succeeds: the next probe after 2026-11-23T12:01:00.000Z (the log and the status page say why)',
      ]);
      const head = await fetch(new URL('healthz', sick.url), { method: 'HEAD' });
      assert.equal(head.status, 503);
      assert.equal(await head.text(), '', 'HEAD has no body');
    } finally {
      await sick.close();
    }
  });

  test('/status is the report JSON of §3.1, with report\'s filters as query parameters; counts stay over every user', async () => {
    const all = (await (await fetch(new URL('status', open.url))).json()) as { generatedAt: string; maxAgeSeconds: number; discovery: string; counts: Record<string, number>; users: Array<Record<string, unknown>> };
    assert.deepEqual(Object.keys(all), ['generatedAt', 'classifiedAt', 'maxAgeSeconds', 'discovery', 'counts', 'behind', 'compared', 'deepVerify', 'users'], 'no maintenance key while maintenance is off');
    assert.equal(all.generatedAt, new Date(NOW).toISOString(), 'as of the request');
    assert.equal(all.users.length, 7);
    assert.deepEqual(Object.keys(all.users[0]!), ['userid', 'kind', 'state', 'server', 'lastBackup', 'lastVerified', 'lastDeepVerify', 'ageSeconds', 'dataFile', 'dataBytes', 'chunks', 'behind', 'comparedAt', 'lastInSync', 'error', 'lastAttempt']);
    const missing = (await (await fetch(new URL('status?state=missing&sort=user&limit=1', open.url))).json()) as typeof all;
    assert.deepEqual(missing.users.map((u) => u.userid), ['dave']);
    assert.equal(missing.counts.fresh, 2);
    const bad = await fetch(new URL('status?state=gone', open.url));
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /unknown state gone; states are fresh, stale/);
  });

  test('/status with maintenance on: the lane\'s status after the report, its times ISO-8601', async () => {
    const lane = await listen(fakeRunView({ status: { ...status, maintenance: sampleMaintenance({ toolProblem: 'sudo: a password is required' }) } }));
    try {
      const body = (await (await fetch(new URL('status', lane.url))).json()) as Record<string, unknown> & { maintenance: Record<string, unknown> & { running: unknown[]; recent: Array<Record<string, unknown>> } };
      assert.deepEqual(Object.keys(body).slice(-2), ['users', 'maintenance']);
      const m = body.maintenance;
      assert.deepEqual(Object.keys(m), ['window', 'open', 'opensAt', 'closesAt', 'running', 'due', 'share', 'rollingUsed', 'deferred', 'recent', 'totals', 'toolProblem']);
      assert.deepEqual([m.window, m.open, m.opensAt, m.closesAt], ['01:00-05:00', true, null, '2026-11-23T14:00:00.000Z']);
      assert.deepEqual(m.running, [{ userid: 'anne', verb: 'verify', reason: 'rolling', since: '2026-11-23T11:59:00.000Z' }]);
      assert.deepEqual(m.due, { recheck: 1, compact: 2, rolling: 40 });
      assert.deepEqual([m.share, m.rollingUsed, m.deferred, m.toolProblem], [34, 12, 6, 'sudo: a password is required']);
      assert.deepEqual(m.recent[1], { userid: 'carol', verb: 'verify', why: 'rolling', startedAt: '2026-11-23T11:40:00.000Z', endedAt: '2026-11-23T11:41:00.000Z', chunks: 30, outcome: 'damaged', detail: 'chunk 7: checksum mismatch' });
    } finally {
      await lane.close();
    }
  });

  test('/status?user= answers at once even for a pattern of many stars; patterns longer than any userid, or too many, are 400', async () => {
    const stars = (await fetch(new URL(`status?user=${encodeURIComponent(`${'*'.repeat(30)}@example.com`)}`, open.url))).json() as Promise<{ users: Array<{ userid: string }> }>;
    assert.deepEqual((await stars).users.map((u) => u.userid), ['anne.smith@example.com']);
    const longest = await fetch(new URL(`status?user=${'*'.repeat(254)}e`, open.url));
    assert.equal(longest.status, 200);
    const tooLong = await fetch(new URL(`status?user=${'*'.repeat(255)}e`, open.url));
    assert.equal(tooLong.status, 400);
    assert.equal(await tooLong.text(), 'a user pattern is at most 255 characters long (no userid is longer); this one has 256\n');
    const tooMany = await fetch(new URL(`status?${Array.from({ length: 21 }, (_, i) => `user=u${i}`).join('&')}`, open.url));
    assert.equal(tooMany.status, 400);
    assert.match(await tooMany.text(), /^at most 20 user patterns; this request has 21/);
  });

  test('ages are those of the moment asked, not of the last classification: /status, /status/summary and /metrics; a fresh user past maxAge since is stale', async () => {
    const later = NOW + 46_000;
    const fleet = sampleFleet();
    fleet.classification.users.push(user('zoe', 'fresh', 24 * H - 10_000));
    const asked = await startHttpListener({ listen: { host: '127.0.0.1', port: 0 }, allowedHosts: [], token: undefined, view: fakeRunView({ status: loopStatus({ fleet }) }), metrics: new SchedulerMetrics(), logger: silent, now: () => later });
    try {
      const report = (await (await fetch(new URL('status', asked.url))).json()) as { generatedAt: string; classifiedAt: string; counts: Record<string, number>; users: Array<{ userid: string; state: string; ageSeconds: number | null }> };
      assert.equal(report.generatedAt, new Date(later).toISOString());
      assert.equal(report.classifiedAt, new Date(NOW).toISOString());
      const anne = report.users.find((u) => u.userid === 'anne')!;
      assert.equal(anne.ageSeconds, 2 * 3600 + 46);
      assert.equal(anne.state, 'fresh');
      assert.equal(report.users.find((u) => u.userid === 'dave')!.ageSeconds, null, 'no backup, no age');
      assert.deepEqual(report.users.find((u) => u.userid === 'zoe'), { ...report.users.find((u) => u.userid === 'zoe'), state: 'stale', ageSeconds: 24 * 3600 + 36 });
      assert.equal(report.counts.stale, 2, 'bob and zoe');
      assert.equal(report.counts.fresh, 2);
      const summary = (await (await fetch(new URL('status/summary', asked.url))).json()) as { fleet: { stalest: Array<{ userid: string; ageSeconds: number }>; counts: Record<string, number> } };
      assert.deepEqual(summary.fleet.stalest[0], { ...summary.fleet.stalest[0], userid: 'bob', ageSeconds: 50 * 3600 + 46 });
      assert.equal(summary.fleet.counts.stale, 2);
      const metrics = parsePrometheusText(await (await fetch(new URL('metrics', asked.url))).text());
      assert.equal(sampleValue(metrics, 'xbackup_oldest_backup_age_seconds'), 50 * 3600 + 46);
      assert.equal(sampleValue(metrics, 'xbackup_users', { state: 'stale' }), 2);
      assert.equal(sampleValue(metrics, 'xbackup_report_generated_timestamp_seconds'), NOW / 1000, 'when the states were decided');
    } finally {
      await asked.close();
    }
  });

  test('/status before any cycle has looked at the fleet: 503 with Retry-After', async () => {
    const early = await listen(fakeRunView());
    try {
      const r = await fetch(new URL('status', early.url));
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '10');
    } finally {
      await early.close();
    }
  });

  test('the page is self-contained and its Content-Security-Policy allows exactly its own script and style', async () => {
    const r = await fetch(open.url);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/html/);
    const html = await r.text();
    assert.doesNotMatch(html, /<(script|link)[^>]+(src|href)="https?:/, 'nothing from elsewhere');
    const csp = r.headers.get('content-security-policy')!;
    const hash = (tag: string) => createHash('sha256').update(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html)![1]!).digest('base64');
    assert.ok(csp.includes(`script-src 'sha256-${hash('script')}'`), csp);
    assert.ok(csp.includes(`style-src 'sha256-${hash('style')}'`), csp);
    assert.match(csp, /default-src 'none'/);
  });

  test('unknown paths are 404, other methods 405', async () => {
    assert.equal((await fetch(new URL('nope', open.url))).status, 404);
    const post = await fetch(new URL('metrics', open.url), { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  describe('Host header: a page that reaches the port by DNS rebinding carries its own name', () => {
    const port = () => new URL(open.url).port;

    test('the listen address and loopback names with the listener\'s port are answered, as written by any browser', async () => {
      for (const host of [`127.0.0.1:${port()}`, `localhost:${port()}`, `LocalHost.:${port()}`, `[::1]:${port()}`, `[0:0::1]:${port()}`, `127.1:${port()}`]) {
        assert.equal((await getWithHost(new URL('status', open.url), host)).status, 200, host);
      }
      assert.equal((await getWithHost(new URL('healthz', open.url), null)).status, 200, 'no Host at all (HTTP/1.0): not a browser');
    });

    test('any other name, or the right name on another port, is 421 on every path, /healthz too, before the token is asked for', async () => {
      const refused = [`evil.example:${port()}`, 'evil.example', `localhost.evil.example:${port()}`, `127.0.0.1:${Number(port()) + 1}`, 'localhost', '127.0.0.1', `127.0.0.1:${port()}/x`, '', `a b:${port()}`];
      for (const host of refused) {
        for (const path of ['', 'status', 'status/summary', 'metrics', 'healthz']) {
          const r = await getWithHost(new URL(path, open.url), host);
          assert.equal(r.status, 421, `${JSON.stringify(host)} /${path}`);
          assert.doesNotMatch(r.body, /anne/);
        }
      }
      const r = await getWithHost(new URL('status', guarded.url), `evil.example:${new URL(guarded.url).port}`);
      assert.equal(r.status, 421);
      assert.match(r.body, /^this listener does not answer to the host name "evil\.example:\d+" of this request, only to 127\.0\.0\.1:\d+, localhost:\d+, \[::1\]:\d+: add the name to http\.allowedHosts/);
    });

    test('names in http.allowedHosts are answered: any port without one, only that port with one', async () => {
      const proxied = await listen(fakeRunView({ status }), undefined, ['status.example.com', 'tunnel.example:8080', '[2001:db8::1]']);
      try {
        for (const [host, expected] of [
          ['status.example.com', 200],
          ['Status.Example.com:443', 200],
          ['tunnel.example:8080', 200],
          ['tunnel.example:8081', 421],
          ['[2001:db8:0::1]', 200],
          ['other.example.com', 421],
        ] as const) {
          assert.equal((await getWithHost(new URL('status', proxied.url), host)).status, expected, host);
        }
      } finally {
        await proxied.close();
      }
    });

    test('http.allowedHosts takes host names with or without a port, and refuses anything else', () => {
      const allowedOf = (value: string) => parseConfig(`http:\n  listen: 9465\n  allowedHosts: ${value}\n`, '/c.yaml').http.allowedHosts;
      assert.deepEqual(allowedOf('[backup1.example.com, "backup1.example.com:9465", "[::1]:9465"]'), ['backup1.example.com', 'backup1.example.com:9465', '[::1]:9465']);
      assert.deepEqual(parseConfig('http:\n  listen: 9465\n', '/c.yaml').http.allowedHosts, []);
      for (const bad of ['["http://backup1.example.com"]', '["a b"]', '["host:99999"]', '["*.example.com"]']) {
        assert.throws(() => allowedOf(bad), (err: unknown) => err instanceof ConfigErrors && /http\.allowedHosts\[0\]: expected a host name or address as the Host header carries it/.test(err.message), bad);
      }
    });
  });

  describe('token (http.tokenFile)', () => {
    const guardedPaths = ['', 'metrics', 'status', 'status/summary'];

    test('401 without it or with a wrong one, offering Bearer and Basic', async () => {
      for (const path of guardedPaths) {
        const r = await fetch(new URL(path, guarded.url));
        assert.equal(r.status, 401, `/${path}`);
        assert.match(r.headers.get('www-authenticate')!, /^Bearer realm="xbackup-scheduler", Basic realm="xbackup-scheduler"/);
        const wrong = await fetch(new URL(path, guarded.url), { headers: { Authorization: `Bearer ${TOKEN}x` } });
        assert.equal(wrong.status, 401, `/${path} with a wrong token`);
      }
    });

    test('200 with the bearer token, or Basic with the token as password (what a browser sends)', async () => {
      for (const path of guardedPaths) {
        assert.equal((await fetch(new URL(path, guarded.url), { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 200, `/${path}`);
      }
      const basic = Buffer.from(`anyone:${TOKEN}`).toString('base64');
      assert.equal((await fetch(new URL('status', guarded.url), { headers: { Authorization: `Basic ${basic}` } })).status, 200);
    });

    test('/healthz stays open', async () => {
      assert.equal((await fetch(new URL('healthz', guarded.url))).status, 200);
    });

    test('a token file group or others can read is refused at load, naming the key; 0600 loads', () => {
      const dir = mkdtempSync(join(tmpdir(), 'xbs-token-'));
      try {
        const tokenFile = join(dir, 'http.token');
        writeFileSync(tokenFile, `${TOKEN}\n`);
        chmodSync(tokenFile, 0o640);
        const config = join(dir, 'config.yaml');
        writeFileSync(config, 'http:\n  listen: 9465\n  tokenFile: http.token\n');
        assert.throws(
          () => loadConfig(config, { secrets: true }),
          (err: unknown) => err instanceof ConfigError && /config\.yaml:3: http\.tokenFile: token file .*http\.token is readable by group or others \(mode 0640\); run: chmod 600/.test(err.message),
        );
        chmodSync(tokenFile, 0o600);
        assert.equal(loadConfig(config, { secrets: true }).http.token?.reveal(), TOKEN);
        assert.equal(loadConfig(config).http.token, undefined, 'read only by commands that load secrets');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  test('http.listen: a bare port binds to loopback; [v6]:port and host:port as written; nonsense refused', () => {
    const listenOf = (value: string) => parseConfig(`http:\n  listen: ${value}\n`, '/c.yaml').http.listen;
    assert.deepEqual(listenOf('9465'), { host: '127.0.0.1', port: 9465 });
    assert.deepEqual(listenOf('"[::1]:9465"'), { host: '::1', port: 9465 });
    assert.deepEqual(listenOf('"0.0.0.0:9465"'), { host: '0.0.0.0', port: 9465 });
    for (const bad of ['"localhost"', '"127.0.0.1:70000"', '"a b:1"']) {
      assert.throws(() => listenOf(bad), (err: unknown) => err instanceof ConfigErrors && /http\.listen: expected host:port/.test(err.message), bad);
    }
  });
});
