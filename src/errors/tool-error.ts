import type { ExitCode } from './exit-codes.js';

/**
 * An error a person acts on: the message says what, where and what to do, and the error carries the
 * exit code (spec §3) the CLI ends with. Anything else that escapes a command is exit 1.
 */
export abstract class ToolError extends Error {
  abstract readonly exitCode: ExitCode;
  /** What the CLI prints before the message. */
  readonly heading: string = 'error: ';
}
