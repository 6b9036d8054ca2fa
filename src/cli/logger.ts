import { destination, pino, type Logger } from 'pino';
import type { GlobalOptions } from './global-options.js';

/**
 * Logs for people running a command go to stderr, so stdout stays data (`--json`). Anything that
 * looks like a credential is redacted, in case an error object ever carries one.
 */
export function commandLogger(options: GlobalOptions): Logger {
  return pino(
    {
      level: options.verbose ? 'debug' : options.quiet ? 'error' : 'warn',
      redact: { paths: ['password', 'pass', '*.password', '*.pass', 'auth.pass', '*.auth.pass'], censor: '[redacted]' },
      base: undefined,
    },
    destination(2),
  );
}
