// A daily window, `01:00-05:00`, in the server's local time: when first backups, windowed refreshes and
// (later) maintenance may start. One rule for whether it is open now and when it opens and closes.
import { formatAge } from './duration.js';

const MINUTE_MS = 60_000;
const DAY_MINUTES = 1440;
const DAY_MS = DAY_MINUTES * MINUTE_MS;

export interface DailyWindow {
  /** As the admin wrote it, which messages say back. */
  text: string;
  /** Minutes after local midnight, 0-1439. */
  startMinute: number;
  /** Minutes after local midnight, 1-1440; at or before startMinute, the window crosses midnight. */
  endMinute: number;
}

export interface WindowState {
  open: boolean;
  /** Closed: when it next opens (ms). Open: null. */
  opensAt: number | null;
  /** When the opening it is in (open) or the next one (closed) ends (ms). */
  closesAt: number | null;
  /** Open: when the opening it is in began (ms), which a per-window budget counts from. Closed: null. */
  openedAt: number | null;
}

const WINDOW_TEXT = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/;

/** `HH:MM-HH:MM`; `00:00-24:00` is all day (it opens again the moment it closes). Throws a message to show the admin. */
export function parseDailyWindow(text: string): DailyWindow {
  const match = WINDOW_TEXT.exec(text);
  if (!match) throw new Error(`"${text}" is not a window: expected HH:MM-HH:MM in the server's local time, e.g. 01:00-05:00 or 22:00-04:00 (across midnight)`);
  const [start, end] = [minuteOf(match[1]!, match[2]!), minuteOf(match[3]!, match[4]!)];
  if (start === null || start === DAY_MINUTES || end === null) {
    throw new Error(`"${text}" is not a window: times go from 00:00 to 23:59 (24:00 only as an end), e.g. 01:00-05:00`);
  }
  if (start === end % DAY_MINUTES && !(start === 0 && end === DAY_MINUTES)) {
    throw new Error(`"${text}" opens and closes at the same minute, so it is never open; for all day write 00:00-24:00 (or leave the key out)`);
  }
  return { text: text.trim(), startMinute: start, endMinute: end };
}

function minuteOf(hours: string, minutes: string): number | null {
  const h = Number(hours);
  const m = Number(minutes);
  if (m > 59 || h > 24 || (h === 24 && m !== 0)) return null;
  return h * 60 + m;
}

export const ALL_DAY: DailyWindow = { text: '00:00-24:00', startMinute: 0, endMinute: DAY_MINUTES };

export const isAllDay = (window: DailyWindow): boolean => window.startMinute === 0 && window.endMinute === DAY_MINUTES;

/**
 * Whether the window is open at `now`, judged by the local wall clock of `timeZone` (an IANA name; the
 * process's own zone, as the cron schedule uses, when left out). A day whose clock skips an hour (DST in
 * spring) has a shorter window, one that repeats an hour a longer one; a start time the clock skips opens
 * the window when the clock jumps past it. All day (`00:00-24:00`) is open, closing and opening at midnight.
 */
export function windowState(window: DailyWindow, now: number, timeZone?: string): WindowState {
  const local = now + offsetAt(now, timeZone);
  const day = Math.floor(local / DAY_MS) * DAY_MS;
  const minute = (local - day) / MINUTE_MS;
  const start = window.startMinute * MINUTE_MS;
  const end = window.endMinute * MINUTE_MS;
  const crosses = window.endMinute <= window.startMinute;
  const at = (wall: number) => instantOf(wall, now, timeZone);
  if (!crosses) {
    if (minute >= window.startMinute && minute < window.endMinute) {
      return { open: true, opensAt: null, closesAt: at(day + end), openedAt: firstInstantOf(day + start, timeZone) };
    }
    const next = minute < window.startMinute ? day : day + DAY_MS;
    return { open: false, opensAt: at(next + start), closesAt: at(next + end), openedAt: null };
  }
  if (minute >= window.startMinute) return { open: true, opensAt: null, closesAt: at(day + DAY_MS + end), openedAt: firstInstantOf(day + start, timeZone) };
  if (minute < window.endMinute) return { open: true, opensAt: null, closesAt: at(day + end), openedAt: firstInstantOf(day - DAY_MS + start, timeZone) };
  return { open: false, opensAt: at(day + start), closesAt: at(day + DAY_MS + end), openedAt: null };
}

/** The first instant at or after `notBefore` whose local wall clock reads `wall` or later (ms, wall as if UTC). */
function instantOf(wall: number, notBefore: number, timeZone: string | undefined): number {
  const candidates = [wall - offsetAt(wall - DAY_MS, timeZone), wall - offsetAt(wall + DAY_MS, timeZone)];
  const exact = candidates.filter((t) => t >= notBefore && t + offsetAt(t, timeZone) === wall);
  if (exact.length > 0) return Math.min(...exact);
  // The clock skips `wall` (spring forward): the window opens as the clock jumps past it.
  let [low, high] = [Math.min(...candidates), Math.max(...candidates)];
  while (high - low > MINUTE_MS) {
    const mid = low + Math.floor((high - low) / 2 / MINUTE_MS) * MINUTE_MS;
    if (mid + offsetAt(mid, timeZone) >= wall) high = mid;
    else low = mid;
  }
  return Math.max(high, notBefore);
}

/** When an opening began: the first time the clock read its start, even if an hour repeated since. */
const firstInstantOf = (wall: number, timeZone: string | undefined) => instantOf(wall, -Infinity, timeZone);

const formats = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at `t` (ms, east positive), to the minute. */
function offsetAt(t: number, timeZone: string | undefined): number {
  if (timeZone === undefined) return -new Date(t).getTimezoneOffset() * MINUTE_MS;
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    formats.set(timeZone, format);
  }
  const part = Object.fromEntries(format.formatToParts(t).map((p) => [p.type, Number(p.value)]));
  const wall = Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!);
  return wall - Math.floor(t / MINUTE_MS) * MINUTE_MS;
}

/** The local wall-clock time `HH:MM` of an instant, for messages beside its ISO time. */
export function localClock(t: number, timeZone?: string): string {
  const local = t + offsetAt(t, timeZone);
  const minute = Math.floor((((local % DAY_MS) + DAY_MS) % DAY_MS) / MINUTE_MS);
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/** An instant a window opens or a budget starts again, as messages say it: `01:00 local time, <ISO> (13h from now)`. */
export function localWhen(at: number, now: number, timeZone?: string): string {
  return `${localClock(at, timeZone)} local time, ${new Date(at).toISOString()} (${formatAge(Math.max(0, at - now))} from now)`;
}
