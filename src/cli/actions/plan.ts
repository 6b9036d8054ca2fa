import type { GlobalOptions } from '../global-options.js';
import { commandLogger } from '../logger.js';
import { writePlanJson, writePlanText } from '../output/plan-text.js';
import type { CliIo } from '../program.js';
import { setUpScheduler } from '../scheduler-setup.js';

/** `plan`: one cycle looked at, nobody backed up. */
export async function runPlan(opts: GlobalOptions, io: CliIo): Promise<void> {
  const { parts } = setUpScheduler(opts, io.env, commandLogger(opts));
  try {
    const looked = await parts.cycle.look({ refreshes: true, firstBackups: true, dryRun: true });
    io.stdout(opts.json ? writePlanJson(looked.plan, Date.now()) : writePlanText(looked.plan, Date.now()));
  } finally {
    await parts.close();
  }
}
