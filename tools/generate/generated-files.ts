// Every file generated from the code, by its path in the repository: what `npm run build` writes
// (tools/generate-docs.ts) and what test/tools/generated-files.test.ts finds current.
import { packageVersion } from '../../src/cli/version.js';
import { cliModel } from './cli-model.js';
import { BASH_COMPLETION_FILE, bashCompletion, ZSH_COMPLETION_FILE, zshCompletion } from './completions.js';
import { CONFIG_SCHEMA_FILE, configJsonSchema } from './config-json-schema.js';
import { MAN_DIR, manPages } from './man-pages.js';

/** The folders whose every file is generated: a file there that is not generated any more is stale. */
export const GENERATED_DIRS = [MAN_DIR, 'completions', 'schema'];

export function generatedFiles(): Map<string, string> {
  const model = cliModel();
  const files = new Map<string, string>();
  for (const [name, text] of manPages(model, packageVersion())) files.set(`${MAN_DIR}/${name}`, text);
  files.set(BASH_COMPLETION_FILE, bashCompletion(model));
  files.set(ZSH_COMPLETION_FILE, zshCompletion(model));
  files.set(CONFIG_SCHEMA_FILE, configJsonSchema());
  return files;
}
