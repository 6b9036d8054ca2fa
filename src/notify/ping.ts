// A Healthchecks-style ping URL (healthchecks.io's convention): `<url>/start` when a cycle starts,
// `<url>` when it succeeds, `<url>/fail` when it fails.
import type { CycleResult } from '../scheduler/cycle-result.js';

export type PingKind = 'start' | CycleResult;

/** The URL to request: the suffix goes on the path, before any query (`?rid=...`). */
export function pingUrl(base: string, kind: PingKind): string {
  const url = new URL(base);
  const suffix = kind === 'start' ? '/start' : kind === 'success' ? '' : '/fail';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${suffix}`;
  return url.href;
}
