import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAccessDenied, whereDenied } from '../../config/read-access.js';
import { detectBackend } from './detect.js';
import { CyrusDbError, type CyrusDbErrorCode } from './errors.js';
import { parseFlat } from './flat.js';
import { parseSkiplist, SKIPLIST_HEADER_SIZE } from './skiplist.js';
import { parseTwoskip, TWOSKIP_HEADER_SIZE } from './twoskip.js';
import type { CyrusDbBackend, CyrusDbEntry } from './types.js';

export interface ReadCyrusDbOptions {
  /** The configured backend (`backup_db`); only decides for files without magic. Default twoskip. */
  backend?: CyrusDbBackend;
  /** How many lock-free reads to try before giving up. Default 8. */
  attempts?: number;
}

export interface CyrusDbSnapshot {
  /** The backend the file turned out to be. */
  backend: CyrusDbBackend;
  entries: CyrusDbEntry[];
  /** How many reads it took (1 when nothing was writing). */
  attempts: number;
}

const DEFAULT_ATTEMPTS = 8;
const FIRST_RETRY_DELAY_MS = 2;
const GROWTH_SLACK = 64 * 1024; // room for what a writer appends between fstat and read
/**
 * skiplist pointers are rewritten in place (by Cyrus's recovery for whole milliseconds) without a
 * change to header or size, and a rewrite stalled between two reads looks like a file at rest:
 * such an error must outlast every read.
 */
const REWRITTEN_IN_PLACE: ReadonlySet<CyrusDbErrorCode> = new Set<CyrusDbErrorCode>(['BAD_POINTER']);

const PARSERS: Record<CyrusDbBackend, (bytes: Buffer, file: string) => CyrusDbEntry[]> = {
  twoskip: parseTwoskip,
  skiplist: parseSkiplist,
  flat: parseFlat,
};

const HEADER_SIZES: Record<CyrusDbBackend, number> = {
  twoskip: TWOSKIP_HEADER_SIZE,
  skiplist: SKIPLIST_HEADER_SIZE,
  flat: 0, // flat is only ever replaced whole, never changed in place
};
const LONGEST_HEADER = Math.max(...Object.values(HEADER_SIZES));

/**
 * Reads a Cyrus database without locking and without ever writing to it
 * (the recipe of docs/cyrusdb-formats.md §3.3): read the whole file, parse it,
 * and accept the result only if the header, inode (and for skiplist size and
 * times) did not change meanwhile; otherwise retry with growing pauses.
 * Throws CyrusDbError: NO_ACCESS at once when this process may not read the
 * file (or search a directory on its path), UNREADABLE at once when it cannot be
 * opened or read otherwise; a format error as soon as two reads of an unchanged
 * file agree on it (a skiplist pointer error only when every read has seen one); otherwise, after
 * the last attempt, the last error seen (UNREADABLE when the file kept changing
 * during every read).
 */
export async function readCyrusDb(path: string, options: ReadCyrusDbOptions = {}): Promise<CyrusDbSnapshot> {
  const maxAttempts = Math.max(1, options.attempts ?? DEFAULT_ATTEMPTS);
  let lastFormatError: CyrusDbError | undefined;
  let lastFailure: FailureFingerprint | undefined;

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) await sleep(FIRST_RETRY_DELAY_MS * 2 ** (attempt - 2));
    const read = await readOnce(path);
    const backend = detectBackend(read.bytes, options.backend);

    let entries: CyrusDbEntry[];
    try {
      entries = PARSERS[backend](read.bytes, path);
    } catch (error) {
      if (!(error instanceof CyrusDbError)) throw error;
      // An error is real, not a writer at work, when it repeats on an unchanged file.
      const failure: FailureFingerprint = { ...fingerprint(read.bytes, backend), code: error.code, offset: error.offset };
      if (lastFailure !== undefined && sameFailure(lastFailure, failure) && !REWRITTEN_IN_PLACE.has(error.code)) throw error.afterAttempts(attempt);
      lastFormatError = error;
      lastFailure = failure;
      continue;
    }

    const headerSize = Math.min(HEADER_SIZES[backend], read.bytes.length);
    const headerUnchanged = read.headerAfterRead.subarray(0, headerSize).equals(read.bytes.subarray(0, headerSize));
    // A skiplist whose log never stops growing is accepted on header and inode alone after half the tries.
    const sizeAndTimesMatter = backend === 'skiplist' && attempt <= maxAttempts / 2;
    if (headerUnchanged && read.sameInode && (read.sameSizeAndTimes || !sizeAndTimesMatter)) {
      return { backend, entries, attempts: attempt };
    }
    if (attempt === maxAttempts) {
      throw new CyrusDbError('UNREADABLE', path, `the ${backend} file was still changing while being read, on the last of ${maxAttempts} reads`, {
        backend,
        advice: 'A Cyrus process is writing it continuously; try again later.',
      });
    }
    lastFailure = undefined;
  }
  throw lastFormatError!.afterAttempts(maxAttempts);
}

interface FailureFingerprint {
  header: string;
  size: number;
  code: string;
  offset: number | undefined;
}

function fingerprint(bytes: Buffer, backend: CyrusDbBackend): Pick<FailureFingerprint, 'header' | 'size'> {
  return { header: bytes.subarray(0, HEADER_SIZES[backend]).toString('hex'), size: bytes.length };
}

function sameFailure(a: FailureFingerprint, b: FailureFingerprint): boolean {
  return a.header === b.header && a.size === b.size && a.code === b.code && a.offset === b.offset;
}

interface RawRead {
  bytes: Buffer;
  /** The first bytes of the file read again right after `bytes` (as long as the longest header). */
  headerAfterRead: Buffer;
  /** The path still names the inode that was read (not replaced by a rename). */
  sameInode: boolean;
  sameSizeAndTimes: boolean;
}

/**
 * One read of the whole file plus what is needed to judge it afterwards. The
 * header is re-read right after the data, so the window in which a commit
 * can slip in is the read itself; parsing happens later, on the copy.
 * Throws UNREADABLE when the file cannot be opened or read.
 */
async function readOnce(path: string): Promise<RawRead> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw unreadable(path, cause);
  }
  try {
    const before = await handle.stat({ bigint: true });
    const bytes = await readToEnd(handle, before.size);
    const headerAfterRead = Buffer.alloc(LONGEST_HEADER);
    const { bytesRead } = await handle.read(headerAfterRead, 0, LONGEST_HEADER, 0);
    const after = await handle.stat({ bigint: true });
    const inodeNow = await inodeOf(path);
    return {
      bytes,
      headerAfterRead: headerAfterRead.subarray(0, bytesRead),
      sameInode: inodeNow === before.ino,
      sameSizeAndTimes: before.size === after.size && before.mtimeNs === after.mtimeNs && before.ctimeNs === after.ctimeNs,
    };
  } catch (cause) {
    throw unreadable(path, cause);
  } finally {
    await handle.close();
  }
}

/**
 * The whole file, normally in a single read() call: asking for more than fstat
 * reported makes a short read past that size the EOF signal, so no extra call
 * (and no extra time for a writer to commit in) is needed. Keeps going if the
 * file grew, or if the kernel returned less than the file holds.
 */
async function readToEnd(handle: FileHandle, expectedSize: bigint): Promise<Buffer> {
  const sizeAtOpen = Number(expectedSize);
  let buffer = Buffer.allocUnsafe(sizeAtOpen + GROWTH_SLACK);
  let length = 0;
  for (;;) {
    const wanted = buffer.length - length;
    const { bytesRead } = await handle.read(buffer, length, wanted, length);
    length += bytesRead;
    if (bytesRead === 0 || (bytesRead < wanted && length >= sizeAtOpen)) return buffer.subarray(0, length);
    if (bytesRead < wanted) continue;
    const bigger = Buffer.allocUnsafe(buffer.length * 2);
    buffer.copy(bigger, 0, 0, length);
    buffer = bigger;
  }
}

async function inodeOf(path: string): Promise<bigint | undefined> {
  try {
    return (await stat(path, { bigint: true })).ino;
  } catch {
    return undefined; // gone for a moment: treat as replaced and read again
  }
}

/** A refusal names the path that refused (the file, or a directory on its way) and what to grant. */
function unreadable(path: string, cause: unknown): CyrusDbError {
  if (isAccessDenied(cause)) return new CyrusDbError('NO_ACCESS', path, `permission denied: ${whereDenied(path)}`, { cause });
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CyrusDbError('UNREADABLE', path, `cannot read the file (${reason})`, { cause });
}
