// The schemas of the values a config writes as text and the program holds as numbers: durations and sizes,
// each validated (and refused below its least value) where it is read, and registered by kind so that
// `config show` writes them back as text and the JSON Schema describes their pattern.
import { z } from 'zod';
import { DURATION_PATTERN } from '../units/duration.js';
import { SIZE_PATTERN } from '../units/size.js';
import { readDuration, readSize, type LeastValue } from './least-values.js';

/**
 * Values the config writes as text and the program holds as numbers or parts: `config show` writes them
 * back as text (src/config/effective.ts) by the kind registered here on the schema of the text.
 */
export type ValueKind = 'duration' | 'size' | 'listen' | 'window';
export const valueKinds = z.registry<{ kind: ValueKind }>();

const DURATION_TEXT = 'a duration: a number with a unit, ms, s, m, h, d or w, or a sum of them (90s, 10m, 24h, 7d, 1h30m)';

/** A duration setting in milliseconds, refused below `least` (see least-values.ts) when it has one. */
export const duration = (what: string, least?: LeastValue) =>
  z
    .string({ error: `expected a ${what} duration with a unit, e.g. 90s, 10m, 24h, 7d` })
    .meta({ description: `${what}: ${DURATION_TEXT}${least ? `, at least ${least.text}` : ''}`, pattern: DURATION_PATTERN })
    .register(valueKinds, { kind: 'duration' })
    .transform((text, ctx) => {
      try {
        return readDuration(text, what, least);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });

/** A size setting, kept with the text it was written as (see units/setting.ts). */
export const size = (what: string, least?: LeastValue) =>
  z
    .union([z.string().meta({ pattern: SIZE_PATTERN }), z.number()], { error: 'expected a size, e.g. 500MB or 2GiB' })
    .meta({ description: `${what}: a size: bytes, or a number with KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 500MB, 2GiB` })
    .register(valueKinds, { kind: 'size' })
    .transform((input, ctx) => {
      try {
        return readSize(input, what, least);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });

/** A count setting: a whole number, at least 1. */
export const positiveInt = (what: string) => z.number({ error: `expected ${what}, a whole number ≥ 1` }).int({ error: `expected ${what}, a whole number ≥ 1` }).min(1, { error: `expected ${what}, a whole number ≥ 1` });
