import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { Secret } from '../../src/config/secret.js';
import { NOTIFY_EVENTS, type NotifyConfig } from '../../src/config/notify.js';
import { Notifier } from '../../src/notify/notifier.js';
import { pingUrl } from '../../src/notify/ping.js';
import type { CycleOutcome } from '../../src/scheduler/cycle.js';
import { startReceiver } from '../support/notify-receiver.js';
import { waitFor } from '../support/wait-for.js';

const silent = pino({ level: 'silent' });

describe('the Healthchecks-style ping', () => {
  test('the URLs: /start, the URL itself, /fail; the suffix before a query', () => {
    const cases: Array<[string, Parameters<typeof pingUrl>[1], string]> = [
      ['https://hc-ping.com/1b2c', 'start', 'https://hc-ping.com/1b2c/start'],
      ['https://hc-ping.com/1b2c', 'success', 'https://hc-ping.com/1b2c'],
      ['https://hc-ping.com/1b2c', 'failure', 'https://hc-ping.com/1b2c/fail'],
      ['https://hc-ping.com/1b2c', 'error', 'https://hc-ping.com/1b2c/fail'],
      ['https://hc-ping.com/1b2c/', 'start', 'https://hc-ping.com/1b2c/start'],
      ['https://hc.example.com/ping/key/backup-cyrus?create=1', 'failure', 'https://hc.example.com/ping/key/backup-cyrus/fail?create=1'],
    ];
    for (const [base, kind, expected] of cases) assert.equal(pingUrl(base, kind), expected, `${base} ${kind}`);
  });

  test('a run of cycles pings start, then its end: success, or fail for a cycle that could not run', async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    const config: NotifyConfig = {
      events: [...NOTIFY_EVENTS],
      queueSize: 10,
      allowInsecure: false,
      webhook: undefined,
      exec: undefined,
      ping: { url: new Secret(`${receiver.base}/uuid`, receiver.base), timeout: 5000, retries: 0 },
    };
    const notifier = new Notifier({ config, logger: silent, serverHealth: () => new Map(), host: 'test', userAgent: 'xbackup-scheduler/test', env: {} });
    const outcome = { results: [], group: null } as unknown as CycleOutcome;
    notifier.started('start', 1000);
    notifier.ended({ why: 'start', startedAt: 1000, endedAt: 2000, result: 'success', error: null, outcome });
    notifier.started('schedule', 3000);
    notifier.ended({ why: 'schedule', startedAt: 3000, endedAt: 4000, result: 'error', error: 'backups.db: CRC mismatch', outcome: null });
    await waitFor(() => receiver.requests.length === 4, { what: 'four pings', timeoutMs: 10_000, intervalMs: 5 });
    assert.deepEqual(receiver.requests.map((r) => `${r.method} ${r.path}`), ['POST /uuid/start', 'POST /uuid', 'POST /uuid/start', 'POST /uuid/fail']);
    assert.equal(receiver.requests[3]!.body, 'cycle could not run: backups.db: CRC mismatch');
    assert.equal(receiver.requests[0]!.headers['user-agent'], 'xbackup-scheduler/test');
    await notifier.close(0);
  });
});
