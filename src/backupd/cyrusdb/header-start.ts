import type { CyrusDbError, CyrusDbErrorCode } from './errors.js';

/**
 * What twoskip and skiplist headers both begin with: a whole header, the format's magic at 0 and
 * version 1 at offset 20 (Cyrus refuses any other).
 */
export function checkHeaderStart(
  bytes: Buffer,
  backend: 'twoskip' | 'skiplist',
  headerSize: number,
  magic: Buffer,
  fail: (code: CyrusDbErrorCode, problem: string, offset?: number) => CyrusDbError,
): void {
  if (bytes.length === 0) throw fail('EMPTY_FILE', 'the file is empty (0 bytes)');
  if (bytes.length < headerSize) throw fail('TRUNCATED', `file has ${bytes.length} bytes, the ${backend} header needs ${headerSize}`);
  if (bytes.compare(magic, 0, magic.length, 0, magic.length) !== 0) throw fail('BAD_MAGIC', `no ${backend} magic at the start of the file`, 0);
  const version = bytes.readUInt32BE(20);
  if (version !== 1) throw fail('BAD_VERSION', `${backend} version ${version}, only version 1 is known`, 20);
}
