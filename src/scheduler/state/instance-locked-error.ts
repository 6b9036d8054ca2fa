/** Another scheduler already works on this state database. */
export class InstanceLockedError extends Error {
  override readonly name = 'InstanceLockedError';
}
