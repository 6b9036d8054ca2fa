// Sizes in bytes: parsed from the config and the command line, and written for people.
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/** What parseSize accepts as text, as a JSON Schema pattern, which has no case-insensitive flag. */
export const SIZE_PATTERN = `^\\s*\\d+(?:\\.\\d+)?\\s*(?:${Object.keys(UNIT_BYTES)
  .map((unit) => [...unit].map((c) => `[${c}${c.toUpperCase()}]`).join(''))
  .join('|')})?\\s*$`;

/** Parses `500MB` (decimal), `2GiB` (binary) or a plain byte count. */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(`${text} is not a size`);
    return Math.round(text);
  }
  const m = SIZE.exec(text.trim());
  const unit = m ? (m[2] || 'b').toLowerCase() : undefined;
  const factor = unit === undefined ? undefined : UNIT_BYTES[unit];
  if (!m || factor === undefined) {
    throw new Error(`"${text}" is not a size; use a number with B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 500MB, 2GiB`);
  }
  return Math.round(Number(m[1]) * factor);
}

/** A size as the config writes it, exactly: `2GiB`, `12MB`, or bytes alone (what `config show` prints). */
export function formatSize(bytes: number): string {
  for (const units of [['TiB', 'GiB', 'MiB', 'KiB'], ['TB', 'GB', 'MB', 'KB']]) {
    for (const unit of units) {
      const factor = UNIT_BYTES[unit.toLowerCase()]!;
      if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
    }
  }
  return `${bytes}B`;
}

/** Binary units, one decimal below 10: `512B`, `3.4KiB`, `120MiB`. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${value}B` : `${value < 10 ? value.toFixed(1) : Math.round(value)}${units[i]}`;
}
