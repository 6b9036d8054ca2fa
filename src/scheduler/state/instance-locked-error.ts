import { ExitCode } from '../../errors/exit-codes.js';
import { ToolError } from '../../errors/tool-error.js';

/** Another scheduler already works on this state database. */
export class InstanceLockedError extends ToolError {
  override readonly name = 'InstanceLockedError';
  readonly exitCode = ExitCode.usageOrConfig;
}
