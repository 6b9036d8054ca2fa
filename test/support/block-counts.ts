import { Session } from 'node:inspector/promises';

interface CoverageRange {
  count: number;
}
interface ScriptCoverage {
  url: string;
  functions: Array<{ ranges: CoverageRange[] }>;
}

let copies = 0;

/**
 * How many times the most executed block of a compiled module ran during `work`, counted by V8's
 * block coverage: a measure of the work done that, unlike a clock, gives the same answer on any
 * machine under any load. The module is imported afresh (a new URL) once coverage is on, since only
 * code compiled after that carries block counters.
 */
export async function hottestBlockCount<Module>(moduleUrl: URL, work: (module: Module) => void): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    const url = `${moduleUrl.href}?block-count=${++copies}`;
    const module = (await import(url)) as Module;
    // Taking the coverage resets the counters: what loading the module ran is not counted.
    await session.post('Profiler.takePreciseCoverage');
    work(module);
    const { result } = (await session.post('Profiler.takePreciseCoverage')) as { result: ScriptCoverage[] };
    const script = result.find((s) => s.url === url);
    if (!script) throw new Error(`no coverage for ${url}`);
    return Math.max(...script.functions.flatMap((f) => f.ranges.map((r) => r.count)));
  } finally {
    await session.post('Profiler.stopPreciseCoverage').catch(() => undefined);
    session.disconnect();
  }
}
