import { destination, pino, type Logger, type LoggerOptions } from 'pino';
import type { GlobalOptions } from './global-options.js';

/** Anything that looks like a credential is redacted, in case an error object ever carries one. */
const REDACT: LoggerOptions['redact'] = { paths: ['password', 'pass', '*.password', '*.pass', 'auth.pass', '*.auth.pass'], censor: '[redacted]' };

const level = (options: GlobalOptions, normal: string) => (options.verbose ? 'debug' : options.quiet ? 'error' : normal);

/** Logs of a one-shot command go to stderr, so stdout stays data (`--json`). */
export function commandLogger(options: GlobalOptions): Logger {
  return pino({ level: level(options, 'warn'), redact: REDACT, base: undefined }, destination(2));
}

/** The long-lived scheduler logs JSON lines to stdout (for journald and log shippers), or pretty lines for people. */
export function schedulerLogger(options: GlobalOptions & { pretty?: boolean }): Logger {
  const base = { level: level(options, 'info'), redact: REDACT, base: { pid: process.pid } };
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: 1, translateTime: 'SYS:standard', ignore: 'pid' } } });
  }
  return pino(base, destination({ dest: 1, sync: true }));
}
