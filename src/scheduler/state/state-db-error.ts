/** The scheduler's own database cannot be used; nothing was written to any Cyrus file. */
export class StateDbError extends Error {
  override readonly name: string = 'StateDbError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`state database ${file}: ${detail}`);
  }
}
