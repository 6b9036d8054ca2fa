import { ExitCode } from '../errors/exit-codes.js';
import { ToolError } from '../errors/tool-error.js';

/** The command line asks for something that cannot be: exit code 2, message without a stack. */
export class UsageError extends ToolError {
  override readonly name = 'UsageError';
  readonly exitCode = ExitCode.usageOrConfig;
}
