/** The three Cyrus key/value file formats this reader understands. */
export type CyrusDbBackend = 'twoskip' | 'skiplist' | 'flat';

/**
 * One live key/value pair. Both are opaque bytes (decode as UTF-8 only at the
 * edge). They are usually views into the buffer the file was read into, so they
 * stay valid as long as the caller keeps them; copy them if you need to mutate.
 */
export interface CyrusDbEntry {
  readonly key: Buffer;
  readonly value: Buffer;
}
