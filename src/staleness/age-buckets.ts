import { formatAge } from '../units/duration.js';
import type { StalenessReport } from './report.js';

export interface AgeBucket {
  /** `< 6h`, `6h – 12h`, ..., `≥ 2d`, `never`. */
  label: string;
  users: number;
  /** Every age in it is maxAge or more. */
  stale: boolean;
}

/**
 * Ages of every user's last backup in buckets relative to maxAge, and the users never backed up, so the
 * shape of the fleet shows at a glance: the report table and the status page draw the same buckets.
 */
export function ageBuckets(report: Pick<StalenessReport, 'maxAge' | 'ages' | 'neverBackedUp'>): AgeBucket[] {
  const { maxAge } = report;
  const edges = [maxAge / 4, maxAge / 2, maxAge, maxAge * 2];
  const buckets: AgeBucket[] = [
    { label: `< ${formatAge(edges[0]!)}`, users: 0, stale: false },
    { label: `${formatAge(edges[0]!)} – ${formatAge(edges[1]!)}`, users: 0, stale: false },
    { label: `${formatAge(edges[1]!)} – ${formatAge(edges[2]!)}`, users: 0, stale: false },
    { label: `${formatAge(edges[2]!)} – ${formatAge(edges[3]!)}`, users: 0, stale: true },
    { label: `≥ ${formatAge(edges[3]!)}`, users: 0, stale: true },
    { label: 'never', users: report.neverBackedUp, stale: false },
  ];
  for (const age of report.ages) {
    const bucket = edges.findIndex((edge) => age < edge);
    buckets[bucket === -1 ? 4 : bucket]!.users++;
  }
  return buckets;
}
