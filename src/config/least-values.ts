// The smallest value each duration and size setting can work with, and why: one table for the config
// file and the command-line options that set the same things. A value below it is refused where it is
// read, with the bound and the reason. Settings without a row here work down to 0 (bootstrap.pause 0s: no
// pause; policy.discoverEvery 0s: discovery at every cycle; policy.shutdownGrace 0s: stop at once, leaving
// the XBACKUPs in flight in doubt; bootstrap.minStagingFreeBytes 0: no check, as when it is left out).
import { parseDuration } from '../units/duration.js';
import { sizeSetting, type Setting } from '../units/setting.js';
import { parseSize } from '../units/size.js';

export interface LeastValue {
  /** The bound as the message writes it. */
  text: string;
  /** In milliseconds or bytes. */
  value: number;
  why: string;
}

const duration = (text: string, why: string): LeastValue => ({ text, value: parseDuration(text), why });

export const LEAST = {
  /** policy.maxAge, report --max-age, --warn-age, --crit-age. */
  backupAge: duration('1s', "Cyrus's chunk times are whole seconds, so a shorter age makes every backup stale the moment it is made"),
  /** servers[].commandTimeout. */
  commandTimeout: duration('1s', 'even an XBACKUP with nothing to send waits for the IMAP server to log in to backupd and back, tens of milliseconds at best and seconds under load'),
  /** servers[].stepTimeout. */
  stepTimeout: duration('100ms', 'a login is several round trips to the server, and a shorter bound fails on any network but loopback'),
  /** retry.baseDelay (and so retry.maxDelay, which is not below it). */
  retryDelay: duration('1s', 'at 0 the backoff base × 2^n stays 0: a failing user or a paused server would be tried again at every cycle'),
  /** retry.inDoubtGrace. */
  inDoubtGrace: duration('1s', 'a user whose command timed out may still be backed up by the server; a second XBACKUP at once only waits and fails with Mailbox is locked'),
  /** notify.webhook.timeout, notify.exec.timeout, notify.ping.timeout. */
  notifyTimeout: duration('1s', 'a receiver on another host, or a command that has to start, cannot answer sooner'),
  /** maintenance.timeout. */
  maintenanceTimeout: duration('10s', 'each run starts ctl_backups through the command prefix (sudo opens a PAM session), reads backups.db and then locks, reads and for compaction rewrites each backup it names: a shorter deadline kills it halfway through even small backups, and the work is lost'),
  /** maintenance.verifyEvery. */
  verifyEvery: duration('1h', 'each backup verified more often than that would keep ctl_backups reading every data file on the server all day'),
  /** bootstrap.maxGroupBytes, bootstrap --max-group-bytes. */
  groupBytes: { text: '1B', value: parseSize(1), why: 'a limit of 0 would read as no limit but make every user a group of its own (for that, set groupSize: 1)' },
  /** bootstrap.maxBytesPerWindow. */
  windowBytes: { text: '1B', value: parseSize(1), why: 'a budget of 0 cannot be kept: a user larger than the budget still goes alone when a window opens, so that no one waits for good' },
} satisfies Record<string, LeastValue>;

/** A duration read from the config or the command line: its milliseconds; throws when it is no duration, or below `least`. */
export function readDuration(text: string, what: string, least?: LeastValue): number {
  const ms = parseDuration(text);
  if (least && ms < least.value) throw new Error(belowLeast(text.trim(), what, least));
  return ms;
}

/** A size read from the config or the command line, with the text it was given as; throws like readDuration. */
export function readSize(input: string | number, what: string, least?: LeastValue): Setting {
  const setting = sizeSetting(input);
  if (least && setting.value < least.value) throw new Error(belowLeast(setting.text, what, least));
  return setting;
}

/** `0s is below the least maximum backup age that can work, 1s: …`. */
function belowLeast(given: string, what: string, least: LeastValue): string {
  return `${given} is below the least ${what} that can work, ${least.text}: ${least.why}`;
}
