import { ExitCode } from '../../errors/exit-codes.js';
import { ToolError } from '../../errors/tool-error.js';

/** The scheduler's own database cannot be used (full, failing, damaged, or deleted under a running scheduler); nothing was written to any Cyrus file. */
export class StateDbError extends ToolError {
  override readonly name: string = 'StateDbError';
  readonly exitCode = ExitCode.stateUnwritable;
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`state database ${file}: ${detail}`);
  }
}
