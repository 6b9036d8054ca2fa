/**
 * Userid patterns as admins write them in `servers[].users` and on the command line:
 * `*` matches anything, `%` anything but a `.` or `@` (one name part, as `%` stops at a level in IMAP LIST).
 * Exact userids match only themselves; matching is case-sensitive, like Cyrus's.
 */
export function compileUseridPattern(pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '%') source += '[^.@]*';
    else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'su');
}

export function isUseridPattern(text: string): boolean {
  return text.includes('*') || text.includes('%');
}

/** True when the userid matches any of the patterns. */
export function matchesAny(userid: string, patterns: readonly RegExp[]): boolean {
  return patterns.some((p) => p.test(userid));
}
