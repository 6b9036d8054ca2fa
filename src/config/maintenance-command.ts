// The keys of the `maintenance:` block that say how the scheduler runs Cyrus's own maintenance tools
// (ctl_backups compact and verify) as the backups' owner. Maintenance is off unless `command` is set.
// maintenance.ts joins them with the window: the refinements sit on the keys themselves, so its shape carries them.
import { z } from 'zod';
import { LEAST } from './least-values.js';
import { duration } from './value-schemas.js';

const EXAMPLE = '[/usr/bin/sudo, -n, -u, cyrus, --], or [] when the scheduler runs as cyrus itself';

/** Programs that would read the words after them (ctl_backups' arguments, userids among them) as shell code. */
const SHELLS = /^(?:ba|da|k|mk|z|c|tc|fi|y|)sh$/;

/**
 * The words put before `<ctlBackups> -C <imapd.conf> -j -- <verb> <userids…>`, run without a shell. A
 * string is refused rather than split: splitting it would need a shell's quoting rules, and a shell would
 * read the userids after it as code.
 */
const commandPrefix = z
  .array(
    z
      .string({ error: 'expected a word (a string)' })
      .min(1, { error: 'expected a non-empty word' })
      .refine((w) => !w.includes('\0'), { error: 'a word cannot contain a NUL character' }),
    { error: `expected the command prefix as a list of words, e.g. ${EXAMPLE} (a single string is refused: it would need a shell)` },
  )
  .superRefine((words, ctx) => {
    const program = words[0];
    if (program === undefined) return;
    if (!program.startsWith('/')) {
      ctx.addIssue({ code: 'custom', path: [0], message: `expected the program as an absolute path, e.g. /usr/bin/sudo (a sudoers rule matches absolute paths, and the unit's PATH is minimal), not "${program}"` });
    } else if (/\s/.test(program)) {
      ctx.addIssue({ code: 'custom', path: [0], message: 'expected one program path, without spaces: put each argument in a word of its own' });
    } else if (SHELLS.test(program.slice(program.lastIndexOf('/') + 1))) {
      ctx.addIssue({ code: 'custom', path: [0], message: `${program} would take the userids after it as shell code: name the program that changes user (sudo, runuser, setpriv) directly` });
    }
  })
  .meta({ description: `the command prefix that runs ctl_backups as the backups' owner, a list of words: ${EXAMPLE}` });

export const maintenanceCommandSchema = z.strictObject({
  // Unset: no maintenance at all (off by default).
  command: commandPrefix.optional(),
  // Each ctl_backups run is killed (its process group, SIGTERM then SIGKILL) past this: verify loops
  // forever on some damaged chunks (docs/cyrus-facts-maintenance.md).
  timeout: duration('ctl_backups run timeout', LEAST.maintenanceTimeout).prefault('1h'),
});

export type MaintenanceCommandConfig = z.output<typeof maintenanceCommandSchema>;
