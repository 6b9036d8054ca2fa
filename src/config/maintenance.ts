// The `maintenance:` section: the backup server's upkeep (compaction by need, rolling deep verification),
// run by Cyrus's own ctl_backups through maintenance.command, only inside maintenance.window. Off unless
// the command is set. The rules that use these keys: src/scheduler/maintenance/maintenance-queue.ts.
import { z } from 'zod';
import { LEAST } from './least-values.js';
import { maintenanceCommandSchema } from './maintenance-command.js';
import { duration, positiveInt } from './value-schemas.js';
import { dailyWindow } from './window.js';

const percent = z
  .number({ error: 'expected a percentage, a number between 1 and 99' })
  .min(1, { error: 'expected a percentage, a number between 1 and 99' })
  .max(99, { error: 'expected a percentage, a number between 1 and 99' });

export const maintenanceSchema = z
  .strictObject({
    window: dailyWindow('maintenance window').optional(),
    // A backup gains a chunk per XBACKUP: past this many it is compacted.
    compactChunks: z
      .number({ error: 'expected the number of chunks, a whole number ≥ 2' })
      .int({ error: 'expected the number of chunks, a whole number ≥ 2' })
      .min(2, { error: 'expected the number of chunks, a whole number ≥ 2 (one chunk cannot be compacted into fewer)' })
      .default(100),
    // Unset: utilisation is not asked for (it costs a `ctl_backups stat` per verified backup).
    compactBelowUtilisation: percent.optional(),
    verifyEvery: duration('deep verification period', LEAST.verifyEvery).prefault('30d'),
    concurrent: positiveInt('the number of ctl_backups runs at once').default(1),
    ...maintenanceCommandSchema.shape,
  })
  .prefault({});

export type MaintenanceConfig = z.output<typeof maintenanceSchema>;
