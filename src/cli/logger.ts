// Where log lines go and in what form. Levels are words (`"level":"warn"`), as journald and Loki users
// expect. `run` writes JSON lines to stdout; one-shot commands write lines for people to stderr, so their
// stdout stays data (`--json`). `--log-format` overrides either. On the journal's stream each line starts
// with its syslog priority (see journald.ts).
import { destination, pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { GlobalOptions, LogFormat } from './global-options.js';
import { isJournalStream, journalPrefix } from './journald.js';
import { logLineText } from './output/log-line-text.js';

/** Anything that looks like a credential is redacted, in case an error object ever carries one. */
const REDACT: LoggerOptions['redact'] = { paths: ['password', 'pass', '*.password', '*.pass', 'auth.pass', '*.auth.pass'], censor: '[redacted]' };

const options = (global: GlobalOptions, normal: string): LoggerOptions => ({
  level: global.verbose ? 'debug' : global.quiet ? 'error' : normal,
  redact: REDACT,
  formatters: { level: (label) => ({ level: label }) },
});

/** Logs of a one-shot command: lines for people on stderr (warnings and errors unless -v). */
export function commandLogger(global: GlobalOptions): Logger {
  return pino({ ...options(global, 'warn'), base: undefined }, logStream(2, global.logFormat ?? 'text', false));
}

/** The long-lived scheduler: JSON lines on stdout (journald, log shippers), or text with `--pretty`. */
export function schedulerLogger(global: GlobalOptions & { pretty?: boolean }): Logger {
  const format = global.pretty ? 'text' : (global.logFormat ?? 'json');
  return pino({ ...options(global, 'info'), base: { pid: process.pid } }, logStream(1, format, true));
}

/**
 * Writes each line pino makes to `fd`, synchronously (nothing is lost at exit), as JSON or as text, with
 * journald's priority prefix when `fd` is the journal. pino hands such a stream each line's level
 * (`lastLevel`) when it carries the `pino.metadata` symbol.
 */
function logStream(fd: 1 | 2, format: LogFormat, time: boolean): DestinationStream {
  const out = destination({ dest: fd, sync: true });
  const journal = isJournalStream(fd, process.env.JOURNAL_STREAM);
  return {
    [Symbol.for('pino.metadata')]: true,
    lastLevel: 0,
    write(line: string) {
      const text = format === 'json' ? line : logLineText(JSON.parse(line) as Record<string, unknown>, { time });
      out.write(journal ? `${journalPrefix(this.lastLevel)}${text}` : text);
    },
    flush(cb?: (err?: Error) => void) {
      out.flush(cb);
    },
  } as DestinationStream & { lastLevel: number };
}
