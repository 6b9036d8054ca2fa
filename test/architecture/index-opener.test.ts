// src/backupd/index-file.ts is the only code that opens a backup index: closing any descriptor of a file
// drops every POSIX lock the process holds on it, SQLite's read lock included, so a second opener
// elsewhere in the process could take SQLite's lock away from under its read.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { indexOpens } from '../support/index-openers.js';
import { repoRoot } from '../support/paths.js';
import { scratchTree } from '../support/source-tree.js';

const OPENER = path.join('backupd', 'index-file.ts');
const src = path.join(repoRoot, 'src');
const shown = (opens: ReturnType<typeof indexOpens>) => opens.map((o) => `${o.file} ${o.call}`).sort();

test('src/: only backupd/index-file.ts opens an index, by descriptor, as a copy and by SQLite', () => {
  const opens = indexOpens(src);
  assert.deepEqual(shown(opens.filter((o) => o.file !== OPENER)), []);
  // The check sees the opens it must: otherwise it would find none anywhere.
  assert.deepEqual([...new Set(opens.map((o) => o.call))].sort(), ['Database', 'openSync', 'readFileSync']);
});

test('the check finds an index opened elsewhere: directly, through a variable, a parameter across modules or a return value, under any import name', () => {
  const { dir, write, remove } = scratchTree('xbs-index-opener-');
  try {
    write('backupd/index-file.ts', "import { openSync } from 'node:fs';\nexport const indexFileOf = (dataFile: string): string => `${dataFile}.index`;\nexport const open = (indexFile: string) => openSync(indexFile, 'r');\n");
    write('backupd/direct.ts', "import { readFileSync } from 'node:fs';\nimport { indexFileOf } from './index-file.js';\nexport const bytes = (dataFile: string) => readFileSync(indexFileOf(dataFile));\n");
    write('backupd/summary.ts', "import { indexFileOf } from './index-file.js';\nimport { why } from './why.js';\nexport function summary(dataFile: string) {\n  const file = indexFileOf(dataFile);\n  return why(file);\n}\n");
    write('backupd/why.ts', "import { closeSync, openSync as open } from 'node:fs';\nexport function why(file: string): void {\n  closeSync(open(file, 'r'));\n}\n");
    write('backupd/sqlite.ts', "import Sqlite from 'better-sqlite3';\nimport { indexFileOf } from './index-file.js';\nconst where = (dataFile: string) => indexFileOf(dataFile);\nexport const db = (dataFile: string) => new Sqlite(where(dataFile), { readonly: true });\n");
    write('backupd/listing.ts', "import fs from 'node:fs';\nexport const first = (files: { index: string[] }) => fs.promises.open(files.index[0]!);\nexport const index = (dataFile: string) => fs.readFileSync(`${dataFile}.index`);\n");
    write('backupd/others.ts', "import { openSync, readFileSync } from 'node:fs';\nimport { indexFileOf } from './index-file.js';\nexport const data = (dataFile: string) => openSync(dataFile, 'r');\nexport const db = (paths: { backupsDb: string }) => readFileSync(paths.backupsDb);\nexport const journal = (dataFile: string) => readFileSync(`${indexFileOf(dataFile)}-journal`);\n");
    assert.deepEqual(shown(indexOpens(dir).filter((o) => o.file !== OPENER)), [
      'backupd/direct.ts readFileSync',
      'backupd/listing.ts fs.promises.open',
      'backupd/listing.ts fs.readFileSync',
      'backupd/sqlite.ts Sqlite',
      'backupd/why.ts open',
    ]);
  } finally {
    remove();
  }
});

test('the check finds the open this rule took out of backup-summary.ts, were it put back', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xbs-index-opener-src-'));
  try {
    fs.cpSync(src, dir, { recursive: true });
    const summary = path.join(dir, 'backupd', 'backup-summary.ts');
    const text = fs.readFileSync(summary, 'utf8');
    // cannotOpen() asked the index why SQLite could not open it with an open(2) of its own.
    const putBack = text.replace('withIndexDescriptor(file, () => undefined);', "closeSync(openSync(file, 'r'));");
    assert.notEqual(putBack, text, 'cannotOpen() is where it was');
    fs.writeFileSync(summary, putBack);
    assert.deepEqual(shown(indexOpens(dir).filter((o) => o.file !== OPENER)), ['backupd/backup-summary.ts openSync']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
