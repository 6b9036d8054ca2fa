import { ExitCode } from '../errors/exit-codes.js';
import { ToolError } from '../errors/tool-error.js';
import { escapeControlCharacters } from '../text/quote-for-log.js';

/** A configuration problem, located precisely enough that the admin can fix it without guessing. */
export class ConfigError extends ToolError {
  override readonly name = 'ConfigError';
  readonly exitCode = ExitCode.usageOrConfig;
  override readonly heading = 'configuration error:\n';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly key: string | undefined,
    readonly problem: string,
  ) {
    // A key or value from the file can carry control characters (an ESC sequence, a CR): never raw into a terminal or log.
    super(escapeControlCharacters(`${file}${line === undefined ? '' : `:${line}`}: ${key ? `${key}: ` : ''}${problem}`));
  }
}

/** Several problems found in one pass, so a bad file is fixed in one edit rather than one error per run. */
export class ConfigErrors extends ToolError {
  override readonly name = 'ConfigErrors';
  readonly exitCode = ExitCode.usageOrConfig;
  override readonly heading = 'configuration error:\n';
  constructor(readonly errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}
