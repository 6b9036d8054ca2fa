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
