import type { CyrusDbBackend } from './types.js';

/** The 20 magic bytes that open a twoskip file: "\xA1\x02\x8B\r" "twoskip file" and 4 NULs. */
export const TWOSKIP_MAGIC = Buffer.from('a1028b0d74776f736b69702066696c6500000000', 'hex');

/** The 20 magic bytes that open a skiplist file: "\xA1\x02\x8B\r" "skiplist file" and 3 NULs. */
export const SKIPLIST_MAGIC = Buffer.from('a1028b0d736b69706c6973742066696c65000000', 'hex');

/**
 * Cyrus decides by the first 16 bytes only (the parsers then check all 20), and
 * reopens a file with whatever backend its magic names, so the configured
 * backend is no proof of the format.
 */
const DETECTION_LENGTH = 16;

/**
 * Which parser to use for `bytes` (the start of the file, or all of it).
 * The magic decides. flat has no magic, so it is chosen only when configured;
 * any other unrecognised file goes to the configured backend (default twoskip,
 * Cyrus's default for backup_db), whose parser then reports EMPTY_FILE,
 * TRUNCATED or BAD_MAGIC.
 */
export function detectBackend(bytes: Buffer, configured: CyrusDbBackend = 'twoskip'): CyrusDbBackend {
  if (startsWith(bytes, TWOSKIP_MAGIC)) return 'twoskip';
  if (startsWith(bytes, SKIPLIST_MAGIC)) return 'skiplist';
  return configured;
}

function startsWith(bytes: Buffer, magic: Buffer): boolean {
  return bytes.length >= DETECTION_LENGTH && bytes.compare(magic, 0, DETECTION_LENGTH, 0, DETECTION_LENGTH) === 0;
}
