// The delivery queue and the webhook's POST: retries with backoff on a fake clock, what is retried and what
// not, a bounded queue, deadlines, and that a receiver that hangs delays no cycle.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { DeliveryError, DeliveryQueue, retryDelayMs } from '../../src/notify/delivery-queue.js';
import { postWithDeadline } from '../../src/notify/http-post.js';
import { Notifier } from '../../src/notify/notifier.js';
import { Secret } from '../../src/config/secret.js';
import type { NotifyConfig } from '../../src/config/notify.js';
import { NOTIFY_EVENTS } from '../../src/config/notify.js';
import { SchedulerLoop } from '../../src/scheduler/scheduler-loop.js';
import type { CycleOutcome } from '../../src/scheduler/cycle.js';
import { partsWith } from '../support/loop-parts.js';
import { receivedEvents, startReceiver } from '../support/notify-receiver.js';
import { waitFor } from '../support/wait-for.js';

const silent = pino({ level: 'silent' });

/** A clock that moves only when the test says: every sleep is recorded and waits for release(). */
function fakeClock() {
  const waits: Array<{ ms: number; release: () => void }> = [];
  return {
    waits,
    sleep: (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        waits.push({ ms, release: resolve });
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
    /** Lets the oldest sleep end. */
    advance() {
      const next = waits.find((w) => w.release !== noop);
      assert.ok(next, 'a backoff is waiting');
      next.release();
      next.release = noop;
    },
  };
}
const noop = () => undefined;

function logLines() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

describe('delivery queue', () => {
  test('a failing try is retried after 2s, 4s, 8s ... (on the fake clock), and nothing is sent before its wait ends', async () => {
    const clock = fakeClock();
    const tries: number[] = [];
    const queue = new DeliveryQueue<string>({
      name: 'test',
      capacity: 10,
      retries: 3,
      describe: (s) => s,
      logger: silent,
      sleep: clock.sleep,
      deliver: async () => {
        tries.push(clock.waits.length);
        if (tries.length < 4) throw new DeliveryError('answered 503', true);
      },
    });
    queue.push('a');
    await waitFor(() => tries.length === 1 && clock.waits.length === 1, { what: 'the first try, then a wait', timeoutMs: 5000, intervalMs: 5 });
    for (let n = 1; n <= 3; n++) {
      // While the wait lasts, no try.
      await new Promise((r) => setImmediate(r));
      assert.equal(tries.length, n);
      clock.advance();
      await waitFor(() => tries.length === n + 1, { what: `try ${n + 1}`, timeoutMs: 5000, intervalMs: 5 });
    }
    await waitFor(() => queue.pending === 0, { what: 'the queue empty', timeoutMs: 5000, intervalMs: 5 });
    assert.deepEqual(clock.waits.map((w) => w.ms), [2000, 4000, 8000]);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map(retryDelayMs), [2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  test('retries end at their number, and a try that is not worth repeating is given up at once; both are logged', async () => {
    const { lines, logger } = logLines();
    const clock = fakeClock();
    const tries: string[] = [];
    const queue = new DeliveryQueue<string>({
      name: 'webhook https://hooks.example.com/…',
      capacity: 10,
      retries: 2,
      describe: (s) => s,
      logger,
      sleep: async (ms, signal) => {
        void clock.sleep(ms, signal);
      },
      deliver: async (item) => {
        tries.push(item);
        throw new DeliveryError(item === 'bad' ? 'answered 404' : 'answered 503', item !== 'bad');
      },
    });
    queue.push('bad');
    queue.push('busy');
    await waitFor(() => queue.pending === 0, { what: 'both given up', timeoutMs: 5000, intervalMs: 5 });
    assert.deepEqual(tries, ['bad', 'busy', 'busy', 'busy']);
    const given = lines.filter((l) => l.msg === 'notification not delivered');
    assert.deepEqual(given.map((l) => [l.notification, l.tries, l.error, l.level]), [['bad', 1, 'answered 404', 40], ['busy', 3, 'answered 503', 40]]);
  });

  test('the queue is bounded: beyond its capacity pushes are dropped and counted, never held', async () => {
    const { lines, logger } = logLines();
    let unblock: () => void = noop;
    const delivered: number[] = [];
    const queue = new DeliveryQueue<number>({
      name: 'test',
      capacity: 3,
      retries: 0,
      describe: String,
      logger,
      deliver: async (n) => {
        if (n === 0) await new Promise<void>((r) => (unblock = r));
        delivered.push(n);
      },
    });
    const accepted = [0, 1, 2, 3, 4, 5, 6].map((n) => queue.push(n));
    // 0 is being tried; 1, 2, 3 wait; 4, 5, 6 are dropped.
    assert.deepEqual(accepted, [true, true, true, true, false, false, false]);
    assert.equal(queue.pending, 4);
    unblock();
    await waitFor(() => queue.pending === 0, { what: 'the queue empty', timeoutMs: 5000, intervalMs: 5 });
    assert.deepEqual(delivered, [0, 1, 2, 3]);
    assert.equal(lines.filter((l) => String(l.msg).startsWith('notification dropped')).length, 1, 'one warning when drops begin');
    assert.equal(lines.find((l) => l.msg === 'notifications were dropped while the queue was full')?.dropped, 3);
  });

  test('close() waits its grace, then aborts the try in flight and gives the rest up', async () => {
    const { lines, logger } = logLines();
    let aborted = false;
    const queue = new DeliveryQueue<number>({
      name: 'test',
      capacity: 5,
      retries: 0,
      describe: String,
      logger,
      deliver: (_n, signal) =>
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new DeliveryError('cut short', false));
          });
        }),
    });
    queue.push(1);
    queue.push(2);
    assert.equal(await queue.close(50), 2);
    assert.ok(aborted);
    assert.equal(queue.push(3), false, 'nothing is taken once closed');
    assert.equal(lines.find((l) => l.msg === 'notifications not delivered before the scheduler stopped')?.notifications, 2);
  });
});

describe('the webhook POST', () => {
  test('503 twice then 200: three requests, with the backoff between them on the fake clock', async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    receiver.answer([503, 503], 200);
    const clock = fakeClock();
    const queue = new DeliveryQueue<string>({
      name: 'webhook',
      capacity: 5,
      retries: 5,
      describe: (s) => s,
      logger: silent,
      sleep: clock.sleep,
      deliver: (body, signal) => postWithDeadline({ url: `${receiver.base}/hook`, body, contentType: 'application/json', userAgent: 'test', timeoutMs: 5000, signal }),
    });
    queue.push('{"n":1}');
    for (let n = 1; n <= 2; n++) {
      await waitFor(() => clock.waits.length === n, { what: `backoff ${n}`, timeoutMs: 10_000, intervalMs: 5 });
      assert.equal(receiver.requests.length, n);
      clock.advance();
    }
    await waitFor(() => queue.pending === 0, { what: 'delivered', timeoutMs: 10_000, intervalMs: 5 });
    assert.equal(receiver.requests.length, 3);
    assert.deepEqual(clock.waits.map((w) => w.ms), [2000, 4000]);
  });

  test('what is retried: 5xx, 408, 429, no connection, no answer in time; what is not: 4xx, a redirect', async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    const post = (timeoutMs = 5000) => postWithDeadline({ url: `${receiver.base}/hook/secret-token`, body: '{}', contentType: 'application/json', userAgent: 'test', timeoutMs, signal: new AbortController().signal });
    const outcome = async (answer: number | 'hang', timeoutMs?: number) => {
      receiver.answer([answer]);
      try {
        await post(timeoutMs);
        return 'ok';
      } catch (err) {
        assert.ok(err instanceof DeliveryError);
        assert.doesNotMatch(err.message, /secret-token/, 'the URL is not in the error');
        return `${err.retryable ? 'retry' : 'give up'}: ${err.message}`;
      }
    };
    assert.equal(await outcome(204), 'ok');
    assert.equal(await outcome(500), 'retry: answered 500');
    assert.equal(await outcome(429), 'retry: answered 429');
    assert.equal(await outcome(408), 'retry: answered 408');
    assert.equal(await outcome(404), 'give up: answered 404');
    assert.match(await outcome(302), /^give up: answered 302, a redirect/);
    assert.equal(await outcome('hang', 300), 'retry: no answer within 0.3 s');
    const gone = await startReceiver();
    await gone.close();
    await assert.rejects(
      postWithDeadline({ url: `${gone.base}/hook`, body: '{}', contentType: 'application/json', userAgent: 'test', timeoutMs: 5000, signal: new AbortController().signal }),
      (err: unknown) => err instanceof DeliveryError && err.retryable && err.message === 'could not connect: ECONNREFUSED',
    );
  });
});

describe('a receiver that hangs', () => {
  test('delays no cycle: the loop runs its cycles while the webhook\'s first request is still unanswered', async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    receiver.answer([], 'hang');
    const config: NotifyConfig = {
      events: [...NOTIFY_EVENTS],
      queueSize: 10,
      allowInsecure: false,
      webhook: { url: new Secret(`${receiver.base}/hook`, receiver.base), timeout: 600_000, retries: 0 },
      exec: undefined,
      ping: { url: new Secret(`${receiver.base}/ping`, receiver.base), timeout: 600_000, retries: 0 },
    };
    const notifier = new Notifier({ config, logger: silent, serverHealth: () => new Map(), host: 'test', userAgent: 'test', env: {} });
    let cycles = 0;
    const parts = partsWith(async (): Promise<CycleOutcome> => {
      cycles++;
      throw new Error('backups.db: CRC mismatch');
    });
    const loop = new SchedulerLoop(parts, '*/10 * * * *', silent);
    loop.observe(notifier);
    await loop.tick('one');
    // The start ping and the cycle's event are held by the receiver, unanswered, and stay so.
    await waitFor(() => receiver.held === 2, { what: 'two requests held by the receiver', timeoutMs: 10_000, intervalMs: 5 });
    await loop.tick('two');
    await loop.tick('three');
    assert.equal(cycles, 3, 'every cycle ran');
    assert.equal(receiver.requests.length, 2, 'the webhook and the ping each have their first request held; the rest wait in their queues');
    await notifier.close(0);
    await waitFor(() => receiver.held === 0, { what: 'closing to abort the held requests', timeoutMs: 10_000, intervalMs: 5 });
    assert.deepEqual(receivedEvents(receiver, '/hook').map((e) => e.event), ['cycle.failed']);
  });
});
