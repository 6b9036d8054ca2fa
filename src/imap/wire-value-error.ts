import { ExitCode } from '../errors/exit-codes.js';
import { ToolError } from '../errors/tool-error.js';
import { quoteForLog } from '../text/quote-for-log.js';

/** Which kind of value was refused before it could reach the IMAP wire. */
export type WireValueKind = 'userid' | 'pattern' | 'channel' | 'mailbox';

/**
 * A userid, pattern, channel or mailbox name that must not be sent to (or taken from) Cyrus,
 * refused before any connection is made. `value` is the input as given; the message shows it
 * escaped, so a CR/LF in it can neither break nor forge a log line.
 */
export class WireValueError extends ToolError {
  override readonly name = 'WireValueError';
  readonly exitCode = ExitCode.usageOrConfig;
  constructor(
    readonly what: WireValueKind,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`refusing ${what} ${quoteForLog(value)}: ${reason}`);
  }
}

