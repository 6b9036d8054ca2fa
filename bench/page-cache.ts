import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

const DAMON = '/sys/kernel/mm/damon/admin/kdamonds';

/**
 * How long a page may sit unused before the kernel's DAMON pages it out (some VMs hand idle memory back to
 * their host this way), in seconds; null when no running DAMON scheme does so. A file the benchmark read
 * longer ago than that is read from disk again: "page cache warm" then only holds for what fits that window.
 */
export function pageoutAfterIdleSeconds(): number | null {
  if (!existsSync(DAMON)) return null;
  const read = (file: string) => readFileSync(file, 'utf8').trim();
  const windows: number[] = [];
  for (const kdamond of readdirSync(DAMON).filter((d) => /^\d+$/.test(d))) {
    const root = join(DAMON, kdamond);
    if (read(join(root, 'state')) !== 'on') continue;
    for (const context of readdirSync(join(root, 'contexts')).filter((d) => /^\d+$/.test(d))) {
      const aggregationUs = Number(read(join(root, 'contexts', context, 'monitoring_attrs', 'intervals', 'aggr_us')));
      const schemes = join(root, 'contexts', context, 'schemes');
      for (const scheme of readdirSync(schemes).filter((d) => /^\d+$/.test(d))) {
        if (read(join(schemes, scheme, 'action')) !== 'pageout') continue;
        windows.push((Number(read(join(schemes, scheme, 'access_pattern', 'age', 'min'))) * aggregationUs) / 1e6);
      }
    }
  }
  return windows.length === 0 ? null : Math.min(...windows);
}
