import { maintenancePolicy, queueNow } from '../../scheduler/maintenance/queue-now.js';
import type { GlobalOptions } from '../global-options.js';
import { commandLogger } from '../logger.js';
import { writePlanJson, writePlanText } from '../output/plan-text.js';
import type { CliIo } from '../program.js';
import { setUpScheduler } from '../scheduler-setup.js';

/** `plan`: one cycle looked at, nobody backed up. */
export async function runPlan(opts: GlobalOptions, io: CliIo): Promise<void> {
  const { parts, config } = setUpScheduler(opts, io.env, commandLogger(opts));
  try {
    const looked = await parts.cycle.look({ refreshes: true, firstBackups: true, dryRun: true });
    const now = Date.now();
    // Only when maintenance is on (maintenance.command set): who the lane would verify and compact, had it the chance now.
    const maintenance =
      config.maintenance.command === undefined
        ? null
        : { window: config.maintenance.window?.text ?? null, queue: queueNow({ memory: parts.memory, log: parts.maintenanceLog }, maintenancePolicy(config.maintenance), looked.classification.users, new Set(), now) };
    io.stdout(opts.json ? writePlanJson(looked.plan, now, maintenance) : writePlanText(looked.plan, now, maintenance));
  } finally {
    await parts.close();
  }
}
