import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/**
 * Empties the kernel's page cache so the next process reads every file (its own binary included) from disk.
 * Needs root outside a container that hides /proc/sys; returns why not instead of failing the benchmark.
 */
export function dropPageCache(): { dropped: true } | { dropped: false; reason: string } {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return { dropped: true };
  } catch (err) {
    return { dropped: false, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}
