// Writes the man pages, shell completions and config JSON Schema generated from the code
// (tools/generate/generated-files.ts), and removes those no command or key gives any more.
// Run by `npm run build` after tsc: node dist/tools/generate-docs.js
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from './generate/repo-root.js';
import { GENERATED_DIRS, generatedFiles } from './generate/generated-files.js';

const files = generatedFiles();
for (const dir of GENERATED_DIRS) {
  mkdirSync(join(repoRoot, dir), { recursive: true });
  for (const name of readdirSync(join(repoRoot, dir))) {
    if (!files.has(`${dir}/${name}`)) rmSync(join(repoRoot, dir, name));
  }
}
for (const [path, text] of files) {
  mkdirSync(dirname(join(repoRoot, path)), { recursive: true });
  writeFileSync(join(repoRoot, path), text);
}
