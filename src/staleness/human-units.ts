import { isoTime } from './iso-time.js';

const UNITS: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** `3d 4h`, `5h 2m`, `42s`: the two largest units, which is what a person scanning a column needs. */
export function formatAge(ms: number | null): string {
  if (ms === null) return 'never';
  if (ms < 0) return `-${formatAge(-ms)}`;
  for (let i = 0; i < UNITS.length; i++) {
    const [unit, size] = UNITS[i]!;
    if (ms < size) continue;
    const whole = Math.floor(ms / size);
    const next = UNITS[i + 1];
    const part = next ? Math.floor((ms - whole * size) / next[1]) : 0;
    return part > 0 ? `${whole}${unit} ${part}${next![0]}` : `${whole}${unit}`;
  }
  return '0s';
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

export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));
