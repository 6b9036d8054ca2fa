// Durations: parsed from the config and the command line, and written for people.
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

/** What parseDuration accepts, as a JSON Schema pattern (the config's schema/config.schema.json). */
export const DURATION_PATTERN = `^\\s*(?:${PART.source})+\\s*$`;

/**
 * Parses `90s`, `10m`, `24h`, `7d`, `2w` and sums like `1h30m` (the form Cyrus's own imapd.conf accepts).
 * A bare number is refused: whether `60` means seconds or minutes is exactly the ambiguity that bites at 3 a.m.
 */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '') throw new Error('empty duration');
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const m = PART.exec(s);
    if (!m) {
      throw new Error(`"${text}" is not a duration at "${s.slice(start)}"; use a number with a unit: ms, s, m, h, d, w (e.g. 90s, 10m, 24h, 1h30m)`);
    }
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return Math.round(total);
}

/** A duration as the config writes it, exactly: `24h`, `1h30m`, `250ms` (what `config show` prints). */
export function formatDuration(ms: number): string {
  let rest = ms;
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit]!;
    const whole = Math.floor(rest / size);
    if (whole > 0) text += `${whole}${unit}`;
    rest -= whole * size;
  }
  return text === '' ? '0s' : text;
}

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
