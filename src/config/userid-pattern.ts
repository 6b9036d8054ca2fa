/**
 * A userid pattern as admins write it in `servers[].users`, on the command line and in `/status?user=`:
 * `*` matches anything, `%` anything but a `.` or `@` (one name part, as `%` stops at a level in IMAP LIST).
 * Exact userids match only themselves; matching is case-sensitive, like Cyrus's, and by code point.
 *
 * Matched without backtracking: a RegExp of `.*` runs takes time exponential in the number of `*`
 * (`************#` kept a request busy for seconds), and a pattern can come from an HTTP query. Here a
 * match costs at most (userid length + 1) × (pattern length + 1) steps, and usually about the userid's length:
 * - the pattern is cut at each `*` into segments of literals and `%`;
 * - each segment is found at the earliest end after the previous one. Whatever a later match could
 *   start from, an earlier end leaves available too, since the `*` between them takes up the rest;
 * - finding a segment runs all its possible positions side by side (a set of states, as a Thompson
 *   NFA does), each text character once, so a `%` that must stop at a `.` or `@` needs no going back.
 */
export class UseridPattern {
  /** The pattern cut at `*`; in each segment a string is one literal code point and null a `%`. */
  readonly #segments: ReadonlyArray<ReadonlyArray<string | null>>;
  readonly #hasWildcard: boolean;

  constructor(readonly source: string) {
    const segments: Array<Array<string | null>> = [[]];
    // `%*`, `*%` and `**` match what `*` alone does, and `%%` what `%` does: each run of wildcards is one.
    let inStarRun = false;
    for (const ch of source) {
      const segment = segments[segments.length - 1]!;
      if (ch === '*') {
        if (segment[segment.length - 1] === null) segment.pop();
        if (!inStarRun) segments.push([]);
        inStarRun = true;
      } else if (ch === '%') {
        if (!inStarRun && segment[segment.length - 1] !== null) segment.push(null);
      } else {
        segment.push(ch);
        inStarRun = false;
      }
    }
    this.#segments = segments;
    this.#hasWildcard = isUseridPattern(source);
  }

  matches(userid: string): boolean {
    if (!this.#hasWildcard) return userid === this.source;
    const text = Array.from(userid);
    const segments = this.#segments;
    const last = segments.length - 1;
    if (last === 0) return findSegment(segments[0]!, text, 0, { anchored: true, toEnd: true }) >= 0;
    let at = findSegment(segments[0]!, text, 0, { anchored: true, toEnd: false });
    for (let i = 1; i < last && at >= 0; i++) at = findSegment(segments[i]!, text, at, { anchored: false, toEnd: false });
    return at >= 0 && findSegment(segments[last]!, text, at, { anchored: false, toEnd: true }) >= 0;
  }
}

/**
 * Where an occurrence of `segment` in `text` at or after `from` ends: the earliest end, or with `toEnd`
 * the text's end if one ends there; -1 when there is none. `anchored` occurrences start at `from` itself.
 * States are positions in the segment; state i is "units before i matched", a `%` (null) keeps its state
 * on any character but `.` and `@` and can also match nothing.
 */
function findSegment(segment: ReadonlyArray<string | null>, text: readonly string[], from: number, options: { anchored: boolean; toEnd: boolean }): number {
  const done = segment.length;
  let states: number[] = [];
  let next: number[] = [];
  // seen[state] === round: the state is already in this round's set.
  const seen = new Array<number>(done + 1).fill(-1);
  const add = (set: number[], state: number, round: number) => {
    for (let s = state; seen[s] !== round; s++) {
      seen[s] = round;
      set.push(s);
      if (segment[s] !== null) break;
    }
  };
  add(states, 0, from);
  for (let i = from; ; i++) {
    if (!options.toEnd && seen[done] === i) return i;
    if (i === text.length) return seen[done] === i ? i : -1;
    const ch = text[i]!;
    for (const s of states) {
      if (s === done) continue;
      const unit = segment[s];
      if (unit === null) {
        if (ch !== '.' && ch !== '@') add(next, s, i + 1);
      } else if (unit === ch) add(next, s + 1, i + 1);
    }
    if (!options.anchored) add(next, 0, i + 1);
    if (next.length === 0) return -1;
    [states, next] = [next, states];
    next.length = 0;
  }
}

export function compileUseridPattern(pattern: string): UseridPattern {
  return new UseridPattern(pattern);
}

export function isUseridPattern(text: string): boolean {
  return text.includes('*') || text.includes('%');
}

/** True when the userid matches any of the patterns. */
export function matchesAny(userid: string, patterns: readonly UseridPattern[]): boolean {
  return patterns.some((p) => p.matches(userid));
}
