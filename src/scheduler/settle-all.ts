/**
 * Waits for every promise to settle, then resolves with their values or throws the first failure.
 * Unlike Promise.all, a failed command never leaves the others running unobserved: whoever awaits
 * this (a stopping loop, a command about to close the IMAP sessions) knows nothing is in flight.
 */
export async function settleAll<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
