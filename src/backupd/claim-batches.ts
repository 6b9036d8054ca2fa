/** Items a thread claims at a time: few enough that the threads finish together, enough to rarely touch the counter. */
const BATCH = 50;

/**
 * Calls `visit` with each of `count` items this thread claims, until none is left. Every thread sharing
 * `next` (one Int32 in a SharedArrayBuffer) claims the next batch as it gets through its own.
 */
export function claimBatches(count: number, next: Int32Array, visit: (i: number) => void): void {
  for (let start = Atomics.add(next, 0, BATCH); start < count; start = Atomics.add(next, 0, BATCH)) {
    const end = Math.min(start + BATCH, count);
    for (let i = start; i < end; i++) visit(i);
  }
}

/** A fresh shared counter for claimBatches(). */
export const sharedCounter = (): Int32Array => new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
