// Seed and run count for the fuzz (property) suites: fixed by default so every run checks the
// same inputs, overridable to explore further: XBS_FUZZ_SEED=<int> picks other inputs,
// XBS_FUZZ_RUNS=<n> replaces each property's default run count.

/** The seed every fuzz suite uses unless XBS_FUZZ_SEED says otherwise. */
export const DEFAULT_FUZZ_SEED = 20240611;

export interface FuzzSettings {
  seed: number;
  /** The run count for a property whose default is `defaultRuns`. */
  runs: (defaultRuns: number) => number;
  /** One line for the test output, so a failure can be replayed. */
  describe: () => string;
}

export function fuzzSettings(env: NodeJS.ProcessEnv = process.env): FuzzSettings {
  const seed = parseInteger('XBS_FUZZ_SEED', env.XBS_FUZZ_SEED) ?? DEFAULT_FUZZ_SEED;
  const runsOverride = parseInteger('XBS_FUZZ_RUNS', env.XBS_FUZZ_RUNS);
  if (runsOverride !== undefined && runsOverride < 1) throw new Error(`XBS_FUZZ_RUNS must be at least 1, got ${runsOverride}`);
  return {
    seed,
    runs: (defaultRuns) => runsOverride ?? defaultRuns,
    describe: () =>
      `fuzz seed ${seed}${env.XBS_FUZZ_SEED ? ' (XBS_FUZZ_SEED)' : ' (default; set XBS_FUZZ_SEED to change)'}` +
      (runsOverride === undefined ? '' : `, ${runsOverride} runs per property (XBS_FUZZ_RUNS)`),
  };
}

function parseInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(text)}`);
  return value;
}
