import { statfsSync } from 'node:fs';

/** Free bytes where backupd stages incoming data; null when the path cannot be examined. */
export function stagingFreeBytes(path: string): number | null {
  try {
    const st = statfsSync(path);
    return st.bavail * st.bsize;
  } catch {
    return null;
  }
}
