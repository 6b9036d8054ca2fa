import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/paths.js';
import { scratchTree } from '../support/source-tree.js';
import { backwardImports } from '../support/stage-order.js';

test('src/: every stage imports only from itself and earlier stages', () => {
  assert.deepEqual(backwardImports(path.join(repoRoot, 'src')), []);
});

test('the check finds a backward import, static or dynamic, an import out of src/ and a folder in no stage', () => {
  const { dir: src, write, remove } = scratchTree('xbs-stage-order-');
  try {
    write('config/load.ts', "import { run } from '../cli/main.js';\nexport const x = 1;\n");
    write('imap/session.ts', "import { load } from '../config/load.js';\nimport { u } from '../units/time.js';\n");
    write('staleness/lazy.ts', "export const later = () => import('../scheduler/cycle.js');\n");
    write('units/time.ts', "import '../../test/support/paths.js';\n");
    write('misc/thing.ts', 'export const y = 2;\n');
    const found = backwardImports(src).map((b) => `${b.file} ${b.imports}: ${b.why}`).sort();
    assert.deepEqual(found, [
      'config/load.ts ../cli/main.js: cli comes after config',
      'misc/thing.ts : the folder is in no stage of test/support/stage-order.ts',
      'staleness/lazy.ts ../scheduler/cycle.js: scheduler comes after staleness',
      'units/time.ts ../../test/support/paths.js: imports from outside src/',
    ]);
  } finally {
    remove();
  }
});
