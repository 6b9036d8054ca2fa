/** A bench's whole-number option: `fallback` when absent; an Error (the bench prints it with its usage) when not a whole number ≥ min. */
export function wholeNumber(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} expects a whole number ≥ ${min}, got "${text}"`);
  return n;
}

/**
 * A bench's options, or the exit code it ends with, having printed its usage: 0 when `parse` answers null
 * (--help), 2 when it throws (a bad option, said first).
 */
export function benchOptions<T>(parse: () => T | null | undefined, usage: string): T | number {
  let options;
  try {
    options = parse();
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (!options) {
    console.log(usage);
    return 0;
  }
  return options;
}
