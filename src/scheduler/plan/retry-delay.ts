/** How far a delay may stray from its nominal value, either way: spreads retries of users that failed together. */
const JITTER_FRACTION = 0.2;

/**
 * How long to wait before retrying after `failures` failed attempts in a row (spec §4):
 * `base × 2^(failures − 1)`, capped at `max`, then jittered by ±20% and never above `max`.
 * `random` returns a number in [0, 1), like Math.random; injected so the result is reproducible.
 * No failures, no wait.
 */
export function retryDelay(failures: number, base: number, max: number, random: () => number): number {
  if (failures < 1) return 0;
  // 2 ** 1100 is Infinity, which Math.min turns into the cap: no overflow to guard against.
  const nominal = Math.min(max, base * 2 ** (failures - 1));
  const jitter = 1 + JITTER_FRACTION * (2 * random() - 1);
  return Math.round(Math.min(max, nominal * jitter));
}
