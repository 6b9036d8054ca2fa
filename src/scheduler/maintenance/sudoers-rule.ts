// The sudoers rule that lets the scheduler's user run exactly the three ctl_backups command lines the
// runner (cyrus-tool.ts) runs, as the backups' owner, and nothing else: the program, its config and the
// `--` before the verb are fixed, so the `*` can only be userids (ctl_backups' getopt reads no option
// after `--`). README "Permissions" and config/xbackup-scheduler.sudoers carry it for Debian's paths.

/** sudoers' special characters in a command path or argument take a backslash. */
const escape = (word: string) => word.replace(/[\\,:=\s]/g, (c) => `\\${c}`);

export function sudoersRule(user: string, runAs: string, ctlBackups: string, imapdConf: string): string {
  const line = (verb: string) => `${escape(ctlBackups)} -C ${escape(imapdConf)} -j -- ${verb} *`;
  return `${user} ALL=(${runAs}) NOPASSWD: ${line('compact')}, ${line('verify')}, ${line('stat')}`;
}

/** The user a sudo prefix runs as: its `-u <user>` (or `--user=<user>`), root without one. */
export function sudoRunAs(prefix: readonly string[]): string {
  for (let i = 1; i < prefix.length; i++) {
    if (prefix[i] === '--') break;
    if (prefix[i] === '-u' && prefix[i + 1] !== undefined) return prefix[i + 1]!;
    const long = /^--user=(.+)$/.exec(prefix[i]!);
    if (long) return long[1]!;
  }
  return 'root';
}
