import { ConfigError, ConfigErrors } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';

/** What the loader says of a config text read as /etc/x/c.yaml, one message per problem; [] when it loads. */
export function configProblems(text: string): string[] {
  try {
    parseConfig(text, '/etc/x/c.yaml');
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message);
    if (err instanceof ConfigError) return [err.message];
    throw err;
  }
  return [];
}
