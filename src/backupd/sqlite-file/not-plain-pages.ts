/**
 * The pages are not the plain, settled rollback-journal database this reader handles: a write in progress,
 * WAL mode, an unfamiliar schema, or a structure it does not trust. Never shown to a user: the caller
 * falls back to SQLite itself, which locks, recovers and classifies errors properly.
 */
export class NotPlainPages extends Error {
  override readonly name = 'NotPlainPages';
}
