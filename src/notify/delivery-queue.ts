// A bounded queue in front of one destination (the webhook, the exec hook, the ping URL): push() never
// waits, so a receiver that hangs or fails cannot hold up a cycle; one item is delivered at a time, in
// order, each try under its own deadline (the deliverer's), retried with exponential backoff.
import type { Logger } from 'pino';

/** Why one try failed; `retryable` false (a 4xx answer, a command that exited non-zero) gives the item up at once. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The wait before retry n (1, 2, ...): 2s, 4s, 8s, ... at most 1m. */
export const FIRST_RETRY_DELAY_MS = 2000;
export const MAX_RETRY_DELAY_MS = 60_000;
export const retryDelayMs = (retry: number): number => Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** (retry - 1));

export interface DeliveryQueueOptions<T> {
  /** How logs name the destination: `webhook https://hooks.example.com/…` (never a secret). */
  name: string;
  /** Items waiting at most; a push beyond is dropped. */
  capacity: number;
  retries: number;
  /** One try; rejects with a DeliveryError. `signal` aborts when the queue is closed. */
  deliver: (item: T, signal: AbortSignal) => Promise<void>;
  /** How an item is named in the log (`server.paused imap1`). */
  describe: (item: T) => string;
  logger: Logger;
  /** Injected so a test can run the backoff on a fake clock. Resolves after `ms`, or early when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

function realSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class DeliveryQueue<T> {
  private readonly items: T[] = [];
  private working: Promise<void> | null = null;
  private readonly closed = new AbortController();
  private dropped = 0;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(private readonly options: DeliveryQueueOptions<T>) {
    this.sleep = options.sleep ?? realSleep;
  }

  /** Items not yet delivered nor given up, the one being tried included. */
  get pending(): number {
    return this.items.length + (this.working ? 1 : 0);
  }

  /** Queues an item and returns at once; false when it was dropped (queue full, or closed). */
  push(item: T): boolean {
    if (this.closed.signal.aborted) return false;
    if (this.items.length >= this.options.capacity) {
      if (this.dropped++ === 0) {
        this.options.logger.warn({ destination: this.options.name, queued: this.items.length }, 'notification dropped: its queue is full (the receiver is slow or down); further drops are counted');
      }
      return false;
    }
    this.items.push(item);
    this.working ??= this.work().finally(() => {
      this.working = null;
    });
    return true;
  }

  private async work(): Promise<void> {
    for (let item = this.items.shift(); item !== undefined; item = this.items.shift()) {
      if (this.closed.signal.aborted) return;
      await this.deliverOne(item);
      if (this.dropped > 0 && this.items.length === 0) {
        this.options.logger.warn({ destination: this.options.name, dropped: this.dropped }, 'notifications were dropped while the queue was full');
        this.dropped = 0;
      }
    }
  }

  private async deliverOne(item: T): Promise<void> {
    const { name, retries, logger } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.deliver(item, this.closed.signal);
        logger.debug({ destination: name, notification: this.options.describe(item), tries: attempt + 1 }, 'notification delivered');
        return;
      } catch (err) {
        const error = err instanceof DeliveryError ? err : new DeliveryError(String((err as Error)?.message ?? err), true);
        const last = !error.retryable || attempt >= retries || this.closed.signal.aborted;
        if (last) {
          logger.warn({ destination: name, notification: this.options.describe(item), tries: attempt + 1, error: error.message }, 'notification not delivered');
          return;
        }
        await this.sleep(retryDelayMs(attempt + 1), this.closed.signal);
      }
    }
  }

  /**
   * Waits up to `graceMs` for what is queued, then aborts the try in flight and gives the rest up (said
   * in the log). Resolves with how many were not delivered.
   */
  async close(graceMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const working = this.working;
    if (working) {
      await Promise.race([working, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    const left = this.pending;
    this.closed.abort();
    this.items.length = 0;
    await this.working;
    if (left > 0) this.options.logger.warn({ destination: this.options.name, notifications: left }, 'notifications not delivered before the scheduler stopped');
    return left;
  }
}
