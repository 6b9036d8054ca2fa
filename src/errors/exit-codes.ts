/** Exit codes of spec §3; scripts and Nagios depend on them. */
export const ExitCode = {
  ok: 0,
  someWorkFailed: 1,
  usageOrConfig: 2,
  unknown: 3,
  /** The state database refused a write (disk full, I/O error): nothing more was sent. */
  stateUnwritable: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What each exit code means, for the man pages' EXIT STATUS (tools/generate/man-pages.ts). */
export const EXIT_CODE_MEANING: Record<ExitCode, string> = {
  [ExitCode.ok]: 'success',
  [ExitCode.someWorkFailed]: 'some work failed: a backup attempt, a check, a server that could not be asked',
  [ExitCode.usageOrConfig]: 'a usage or configuration error: nothing was done',
  [ExitCode.unknown]: 'the state could not be determined (the Nagios plugin\'s UNKNOWN)',
  [ExitCode.stateUnwritable]: 'the state database refused a write (disk full, I/O error): nothing more was sent',
};
