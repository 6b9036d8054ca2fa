/** Exit codes of spec §3; scripts and Nagios depend on them. */
export const ExitCode = {
  ok: 0,
  someWorkFailed: 1,
  usageOrConfig: 2,
  unknown: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
