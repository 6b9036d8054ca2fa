// The rule of src/'s folders: data flows one way, config → backupd → imap → staleness → scheduler → notify → cli,
// and a stage imports only from itself and earlier ones. Below all of them, the shared vocabulary
// (Cyrus's names, units, text, error classes, the tool's own name and version) imports from nothing else.
import fs from 'node:fs';
import path from 'node:path';
import { sourceFiles } from './source-tree.js';

export const STAGES: readonly (readonly string[])[] = [
  ['cyrus-names', 'units', 'text', 'errors', 'about'],
  ['config'],
  ['backupd'],
  ['imap'],
  ['staleness'],
  ['scheduler'],
  ['notify'],
  ['cli'],
];

export interface BackwardImport {
  file: string;
  imports: string;
  why: string;
}

/** Every import under `srcDir` that points at a later stage, or out of src/, or into an unknown folder. */
export function backwardImports(srcDir: string): BackwardImport[] {
  const stageOf = (file: string): number | undefined => {
    const folder = path.relative(srcDir, file).split(path.sep)[0]!;
    const index = STAGES.findIndex((stage) => stage.includes(folder));
    return index < 0 ? undefined : index;
  };
  const found: BackwardImport[] = [];
  for (const file of sourceFiles(srcDir)) {
    const from = stageOf(file);
    const shown = path.relative(srcDir, file);
    if (from === undefined) {
      found.push({ file: shown, imports: '', why: `the folder is in no stage of test/support/stage-order.ts` });
      continue;
    }
    for (const specifier of relativeImports(fs.readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), specifier);
      if (!target.startsWith(`${srcDir}${path.sep}`)) {
        found.push({ file: shown, imports: specifier, why: 'imports from outside src/' });
        continue;
      }
      const to = stageOf(target);
      if (to === undefined || to > from) {
        const name = path.relative(srcDir, target).split(path.sep)[0];
        found.push({ file: shown, imports: specifier, why: `${name} comes after ${path.relative(srcDir, file).split(path.sep)[0]}` });
      }
    }
  }
  return found;
}


/** Static `from '…'`, side-effect `import '…'` and dynamic `import('…')` specifiers that are paths. */
function relativeImports(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]!);
}
