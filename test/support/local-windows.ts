// Daily windows computed from the clock for tests that run the CLI with TZ set: each at least two hours
// from its edges, so that no test waits for the clock.
/** The zone the CLI runs in: 5 h 45 min off UTC, so a window read in UTC instead of local time flips. */
export const TZ = 'Asia/Kathmandu';
const DAY = 1440;

/** Minutes after midnight on the wall clock of `timeZone` now. */
function minuteNow(timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: 'numeric', minute: 'numeric' }).formatToParts(Date.now());
  const part = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return part('hour') * 60 + part('minute');
}

const hhmm = (minute: number) => {
  const m = ((minute % DAY) + DAY) % DAY;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};

/** Open for the next six hours in the scheduler's local time (TZ). */
export const openWindow = () => {
  const now = minuteNow(TZ);
  return { text: `${hhmm(now - 360)}-${hhmm(now + 360)}`, start: hhmm(now - 360) };
};

/**
 * Closed in the scheduler's local time for the next 16 hours, yet open now in UTC: two hours either side of
 * the UTC clock. A scheduler that read the window in UTC would back everyone up.
 */
export const closedWindow = () => {
  const utc = minuteNow('UTC');
  return { text: `${hhmm(utc - 120)}-${hhmm(utc + 120)}`, start: hhmm(utc - 120) };
};
