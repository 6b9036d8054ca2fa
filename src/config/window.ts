// A daily window key (bootstrap.window, policy.window, maintenance.window): validated where it is read,
// held as its parts and the text it was written as, which `config show` writes back.
import { z } from 'zod';
import { parseDailyWindow } from '../units/daily-window.js';
import { valueKinds } from './value-schemas.js';

export const WINDOW_PATTERN = '^\\s*\\d{1,2}:\\d{2}\\s*-\\s*\\d{1,2}:\\d{2}\\s*$';

export const dailyWindow = (what: string) =>
  z
    .string({ error: `expected the ${what} as HH:MM-HH:MM in the server's local time, e.g. "01:00-05:00"` })
    .meta({
      description: `${what}: HH:MM-HH:MM in the server's local time (the scheduler's TZ), across midnight when the end comes first (22:00-04:00); 00:00-24:00 is all day`,
      pattern: WINDOW_PATTERN,
    })
    .register(valueKinds, { kind: 'window' })
    .transform((text, ctx) => {
      try {
        return parseDailyWindow(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });
