// A size or duration from the config or the command line, kept as the admin wrote it.
import { parseDuration } from './duration.js';
import { parseSize } from './size.js';

/**
 * A setting's value (bytes or milliseconds) and the text it was given as. Messages about a setting
 * print `text`, so that `maxGroupBytes: 12MB` is said back as 12MB, never as the 11MiB a conversion makes.
 */
export interface Setting {
  value: number;
  text: string;
}

/** `500MB`, `2GiB`, or a plain byte count (a number in YAML reads as bytes, and is said back with a B). */
export function sizeSetting(input: string | number): Setting {
  return { value: parseSize(input), text: typeof input === 'number' ? `${input}B` : input.trim() };
}

export function durationSetting(input: string): Setting {
  return { value: parseDuration(input), text: input.trim() };
}
