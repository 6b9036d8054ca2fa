// A log record as one line for a person (one-shot commands' stderr, `run --log-format text`):
// `warning: discovery failed (server=imap1 err="connect ECONNREFUSED 127.0.0.1:143")`.
import { escapeControlCharacters } from '../../text/quote-for-log.js';
import { isoTime } from '../../units/time.js';

/** pino's level names as a person reads them (the CLI's own messages say `error:` too). */
const LEVEL_WORDS: Readonly<Record<string, string>> = { trace: 'debug', debug: 'debug', info: 'info', warn: 'warning', error: 'error', fatal: 'fatal' };
/** Fields the line already shows, or that a person does not need. */
const NOT_SHOWN = new Set(['level', 'time', 'msg', 'pid', 'hostname']);
/** Values shown as they are; anything else is quoted (JSON escapes, and controls as \u escapes). */
const BARE = /^[\w.,@:/+*%-]+$/;

/** `record` is a log line as pino wrote it (so already redacted): one line, ending in a newline. */
export function logLineText(record: Readonly<Record<string, unknown>>, options: { time: boolean }): string {
  const word = LEVEL_WORDS[String(record.level)] ?? String(record.level);
  const time = options.time && typeof record.time === 'number' ? `${isoTime(record.time)} ` : '';
  const fields = Object.entries(record)
    .filter(([key, value]) => !NOT_SHOWN.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${fieldText(value)}`);
  const message = escapeControlCharacters(String(record.msg ?? ''));
  return `${time}${word}: ${message}${fields.length > 0 ? ` (${fields.join(' ')})` : ''}\n`;
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return BARE.test(value) ? value : quoted(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) return fieldText(value.join(','));
  // An error as pino serialises it ({ type, message, stack }): its message is what a person needs.
  if (typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') return quoted((value as { message: string }).message);
  return escapeControlCharacters(JSON.stringify(value));
}

const quoted = (text: string): string => escapeControlCharacters(JSON.stringify(text));
