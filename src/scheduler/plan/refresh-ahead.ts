/**
 * The age from which a user is backed up again, ahead of maxAge: a user just short of it when one cycle
 * looks is at most one schedule period older when the next one does, and its backup ends at most one
 * cycle's run later still. So it is taken at maxAge − period − run, and no user crosses maxAge in normal
 * operation. `run` is what a cycle took, measured (the longest of the last few); a period or run that
 * leaves nothing of maxAge means every user is due every cycle, and `check` warns about such a schedule.
 */
export function refreshFromAge(maxAge: number, schedulePeriod: number, cycleRun: number): number {
  return Math.max(0, maxAge - schedulePeriod - cycleRun);
}
