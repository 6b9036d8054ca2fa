import { GNU_TIME, gnuTimeAvailable } from './timed-process.js';

/** Why a benchmark cannot run as this user (it needs root for `rootFor`), or undefined. */
export function rootProblem(rootFor: string): string | undefined {
  return process.getuid?.() !== 0 ? `run the benchmark as root: it ${rootFor}` : undefined;
}

/** Why a benchmark cannot run on this machine (it needs root for `rootFor`, and GNU time), or undefined. */
export function benchPrerequisiteProblem(rootFor: string): string | undefined {
  const root = rootProblem(rootFor);
  if (root) return root;
  if (!gnuTimeAvailable()) return `${GNU_TIME} is missing (apt-get install -y time): the benchmark reads each process's peak RSS from it`;
  return undefined;
}

/** A bench's exit code from the problems its measurements met: 1, having said the first 20 distinct ones, or 0. */
export function brokenFiguresExit(problems: readonly string[]): number {
  const distinct = [...new Set(problems)];
  if (distinct.length === 0) return 0;
  console.error(`\nBROKEN (the figures above are not to be trusted):\n${distinct.slice(0, 20).map((p) => `  ${p}`).join('\n')}`);
  return 1;
}
