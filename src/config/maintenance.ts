// The `maintenance:` section: the backup server's upkeep (compaction, deep verification), which runs
// only inside its window.
import { z } from 'zod';
import { maintenanceCommandSchema } from './maintenance-command.js';
import { dailyWindow } from './window.js';

export const maintenanceSchema = z
  .strictObject({
    window: dailyWindow('maintenance window').optional(),
    ...maintenanceCommandSchema.shape,
  })
  .prefault({});

export type MaintenanceConfig = z.output<typeof maintenanceSchema>;
