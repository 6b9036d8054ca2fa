/** Units for benchmark tables: seconds from 1 s up, milliseconds below, so figures stay readable side by side. */
export function formatDuration(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function formatRss(kb: number): string {
  return `${(kb / 1024).toFixed(0)} MB`;
}

export function formatRatio(ratio: number): string {
  return ratio >= 10 ? `${ratio.toFixed(0)}×` : `${ratio.toFixed(1)}×`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Left-aligned columns of the given widths; the last column is not padded. */
export function columns(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((cell, i) => (i < widths.length ? cell.padEnd(widths[i]!) : cell)).join('').trimEnd();
}
