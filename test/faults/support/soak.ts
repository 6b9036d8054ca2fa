// How long the fault tests of this folder run: the CI sizes by default, longer ones under
// `npm run soak` (XBS_SOAK=1). Each figure may also be set on its own, and the seed of every random
// choice is printed, so a failure found in a soak can be replayed with the same seed.

/** True under `npm run soak`. */
export const SOAK = process.env.XBS_SOAK === '1';

/** A whole number from the environment (`name`), else the CI or the soak default. */
export function scaled(name: string, ci: number, soak: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return SOAK ? soak : ci;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}=${text}: expected a whole number ≥ 0`);
  return value;
}

/** XBS_FAULT_SEED, else a fixed seed in CI (the same run every time) and a fresh one in a soak. */
export function faultSeed(): number {
  return scaled('XBS_FAULT_SEED', 20261123, Date.now() % 2 ** 31);
}
