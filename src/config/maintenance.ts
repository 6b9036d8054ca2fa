// The `maintenance:` section: the backup server's upkeep (compaction, deep verification), which runs
// only inside its window.
import { z } from 'zod';
import { dailyWindow } from './window.js';

export const maintenanceSchema = z
  .strictObject({
    window: dailyWindow('maintenance window').optional(),
  })
  .prefault({});

export type MaintenanceConfig = z.output<typeof maintenanceSchema>;
