import { GNU_TIME, gnuTimeAvailable } from './timed-process.js';

/** Why a benchmark cannot run on this machine (it needs root for `rootFor`, and GNU time), or undefined. */
export function benchPrerequisiteProblem(rootFor: string): string | undefined {
  if (process.getuid?.() !== 0) return `run the benchmark as root: it ${rootFor}`;
  if (!gnuTimeAvailable()) return `${GNU_TIME} is missing (apt-get install -y time): the benchmark reads each process's peak RSS from it`;
  return undefined;
}
