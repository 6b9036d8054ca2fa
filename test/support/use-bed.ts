// One Cyrus test bed for a describe block (or a file): started by a `before` hook, stopped by an
// `after` hook even when its start or the setup failed halfway, with a scratch directory and, when
// asked, a config file for the CLI pointing at it. A file whose tests start beds of their own
// (test/cyrus/testbed.test.ts, say) starts them itself. A `before` hook of the file's own, added
// after useBed, runs after useBed's (node runs hooks in order), with the bed up.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { CyrusTestBed, type TestBedOptions } from '../cyrus/testbed.js';
import { writeBedConfig, type BedConfigOptions } from './bed-config.js';

export interface UseBedOptions {
  /** CyrusTestBed.start's options; a function when they depend on what an earlier hook made (another bed's port). */
  bed?: TestBedOptions | (() => TestBedOptions);
  /** The scratch directory's name under os.tmpdir() starts with this ('xbs-run-', say). */
  scratch?: string;
  /** Writes `config` (writeBedConfig(bed, work, these)) once the bed is up, before `setup`. */
  config?: BedConfigOptions;
  /** What the tests share (users, first backups, ...). The bed's own admin connections are closed after it. */
  setup?: () => Promise<void> | void;
  /**
   * Runs first in the `after` hook, before the bed stops, whether or not the start and `setup` succeeded:
   * it is given the bed if it started (the stand-in throws otherwise).
   */
  teardown?: (bed: CyrusTestBed | undefined) => Promise<void> | void;
  /** The `before` hook's timeout, for a long setup. */
  timeout?: number;
}

export interface UsedBed {
  /** The bed, from the `before` hook on. Until then a stand-in that throws when used. */
  bed: CyrusTestBed;
  /** The scratch directory: its name is fixed at once, the directory exists from the `before` hook on. */
  work: string;
  /** `work`/config.yaml: written there by writeBedConfig when the `config` option is given. */
  config: string;
}

/**
 * Registers the `before` and `after` hooks of one bed in the describe block (or file) it is called in:
 * `const { bed, work, config } = useBed({ bed: { secondImapServer: true }, scratch: 'xbs-run-', config: {}, setup })`.
 * The names are given at once so that tests and `setup` can name them directly; they are usable
 * once the `before` hook has run. (No overloads for the `config` option: resolving them would need
 * the type of a `setup` that uses `bed`, which TypeScript then finds circular.)
 */
export function useBed(options: UseBedOptions = {}): UsedBed {
  const work = join(tmpdir(), `${options.scratch ?? 'xbs-bed-'}${randomBytes(4).toString('hex')}`);
  const config = join(work, 'config.yaml');
  let started: CyrusTestBed | undefined;
  let starting: Promise<CyrusTestBed> | undefined;
  let workMade = false;
  let tornDown = false;

  before(
    async () => {
      starting = CyrusTestBed.start(typeof options.bed === 'function' ? options.bed() : options.bed);
      started = await starting;
      // A `before` that timed out goes on running: once the `after` hook has been, it makes nothing more.
      if (tornDown) return;
      mkdirSync(work, { mode: 0o700 });
      workMade = true;
      if (options.config) writeBedConfig(started, work, options.config);
      await options.setup?.();
      await started.disconnect();
    },
    options.timeout === undefined ? {} : { timeout: options.timeout },
  );

  after(async () => {
    tornDown = true;
    const errors: unknown[] = [];
    const attempt = async (step: () => unknown) => {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    };
    // A `before` that timed out may have left the start going: it ends within the bed's own bounds.
    const bed = started ?? (await starting?.catch(() => undefined));
    await attempt(() => options.teardown?.(bed));
    await attempt(() => bed?.stop());
    if (workMade) await attempt(() => rmSync(work, { recursive: true, force: true }));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'tearing down the test bed failed more than once');
  });

  const bed = standIn(() => {
    if (!started) throw new Error('the test bed is used before its before() hook started it, or its start failed');
    return started;
  });
  return { bed, work, config };
}

/** Forwards every use to the bed `current` gives, so that the name can be handed out before it exists. */
function standIn(current: () => CyrusTestBed): CyrusTestBed {
  return new Proxy(Object.create(CyrusTestBed.prototype) as CyrusTestBed, {
    get(_, key) {
      const bed = current();
      const value: unknown = Reflect.get(bed, key);
      // Methods run on the bed itself, whose fields they use.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(bed) : value;
    },
    set: (_, key, value) => Reflect.set(current(), key, value),
    has: (_, key) => Reflect.has(current(), key),
  });
}
