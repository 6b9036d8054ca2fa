/** A bench's whole-number option: `fallback` when absent; an Error (the bench prints it with its usage) when not a whole number ≥ min. */
export function wholeNumber(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} expects a whole number ≥ ${min}, got "${text}"`);
  return n;
}
