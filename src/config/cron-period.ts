import { createTask } from 'node-cron';

/**
 * Ticks looked at: a schedule of work days only (`0 9-17 * * 1-5`) shows its weekend gap within them,
 * and even one tick a second is covered for half an hour. About 0.15 s to compute, once per schedule.
 */
const TICKS = 2000;

/** The longest gap between a cron schedule's coming ticks (ms): at worst, how long a cycle waits for the next. */
export function cronPeriod(expression: string): number {
  const ticks = createTask(expression, () => undefined).getNextRuns(TICKS).map((d) => d.getTime());
  return Math.max(0, ...ticks.slice(1).map((t, i) => t - ticks[i]!));
}
