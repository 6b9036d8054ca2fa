/**
 * A userid pattern as admins write it in `servers[].users`, on the command line and in `/status?user=`:
 * `*` matches anything, `%` anything but a `.` or `@` (one name part, as `%` stops at a level in IMAP LIST).
 * Exact userids match only themselves; matching is case-sensitive, like Cyrus's, and by code point.
 *
 * Matched without backtracking: a RegExp with `.*` for each `*` takes time that grows as the userid's
 * length to the power of the number of `*` (`************#` kept a request busy for seconds), and a
 * pattern can come from an HTTP query. Here a match takes at most (userid length + 1) × (pattern length
 * + 1) steps, and usually about the userid's length:
 * - the pattern is cut at each `*` into segments of literals and `%`;
 * - each segment is found at the earliest end after the previous one. Whatever a later segment could
 *   start from, an earlier end leaves available too, since the `*` between them takes up the rest;
 * - finding a segment follows all its possible positions side by side (a set of states, as a Thompson
 *   NFA does), reading each character once, so a `%` that must stop at a `.` or `@` needs no going back.
 */
/** A `%` among a segment's code points. */
const NAME_PART = -1;
const DOT = 0x2e;
const AT = 0x40;

export class UseridPattern {
  /** The pattern cut at `*`: in each segment, code points and NAME_PART for `%`. */
  readonly #segments: readonly Int32Array[];
  readonly #hasWildcard: boolean;
  // Reused by every match, so that filtering a large fleet allocates nothing per userid: a state is in
  // the set of a round when its mark is that round's number, which only grows.
  readonly #marks: Float64Array;
  readonly #states: Int32Array;
  readonly #next: Int32Array;
  #round = 0;

  constructor(readonly source: string) {
    const segments: number[][] = [[]];
    // `%*`, `*%` and `**` match what `*` alone does, and `%%` what `%` does: each run of wildcards is one.
    let inStarRun = false;
    for (const ch of source) {
      const segment = segments[segments.length - 1]!;
      if (ch === '*') {
        if (segment[segment.length - 1] === NAME_PART) segment.pop();
        if (!inStarRun) segments.push([]);
        inStarRun = true;
      } else if (ch === '%') {
        if (!inStarRun && segment[segment.length - 1] !== NAME_PART) segment.push(NAME_PART);
      } else {
        segment.push(ch.codePointAt(0)!);
        inStarRun = false;
      }
    }
    this.#segments = segments.map((s) => Int32Array.from(s));
    this.#hasWildcard = isUseridPattern(source);
    const states = segments.reduce((most, s) => Math.max(most, s.length), 0) + 1;
    this.#marks = new Float64Array(states);
    this.#states = new Int32Array(states);
    this.#next = new Int32Array(states);
  }

  matches(userid: string): boolean {
    if (!this.#hasWildcard) return userid === this.source;
    const segments = this.#segments;
    const last = segments.length - 1;
    if (last === 0) return this.#find(segments[0]!, userid, 0, { anchored: true, toEnd: true }) >= 0;
    let at = this.#find(segments[0]!, userid, 0, { anchored: true, toEnd: false });
    for (let i = 1; i < last && at >= 0; i++) at = this.#find(segments[i]!, userid, at, { anchored: false, toEnd: false });
    return at >= 0 && this.#find(segments[last]!, userid, at, { anchored: false, toEnd: true }) >= 0;
  }

  /**
   * Where an occurrence of `segment` in `text` at or after index `from` ends: the earliest end, or with
   * `toEnd` the text's end if one ends there; -1 when there is none. `anchored` occurrences start at
   * `from` itself. State s means "the units before s are matched"; a `%` keeps its state on any
   * character but `.` and `@`, and can also match nothing.
   */
  #find(segment: Int32Array, text: string, from: number, options: { anchored: boolean; toEnd: boolean }): number {
    const done = segment.length;
    let states = this.#states;
    let next = this.#next;
    let round = ++this.#round;
    let count = this.#add(segment, states, 0, round, 0);
    for (let i = from; ; ) {
      const reachedEnd = this.#marks[done] === round;
      if (reachedEnd && !options.toEnd) return i;
      if (i === text.length) return reachedEnd ? i : -1;
      const ch = text.codePointAt(i)!;
      const nextRound = ++this.#round;
      let nextCount = 0;
      for (let k = 0; k < count; k++) {
        const s = states[k]!;
        if (s === done) continue;
        const unit = segment[s]!;
        if (unit === NAME_PART) {
          if (ch !== DOT && ch !== AT) nextCount = this.#add(segment, next, nextCount, nextRound, s);
        } else if (unit === ch) nextCount = this.#add(segment, next, nextCount, nextRound, s + 1);
      }
      if (!options.anchored) nextCount = this.#add(segment, next, nextCount, nextRound, 0);
      if (nextCount === 0) return -1;
      [states, next] = [next, states];
      count = nextCount;
      round = nextRound;
      i += ch > 0xffff ? 2 : 1;
    }
  }

  /** Adds `state` to a round's set, and the state after it when it is a `%`, which can match nothing. */
  #add(segment: Int32Array, set: Int32Array, count: number, round: number, state: number): number {
    const marks = this.#marks;
    for (let s = state; marks[s] !== round; s++) {
      marks[s] = round;
      set[count++] = s;
      if (segment[s] !== NAME_PART) break;
    }
    return count;
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
