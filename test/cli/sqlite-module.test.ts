// A broken better-sqlite3 (an install the user cannot traverse, an addon built for another Node.js) is named
// as such before any command runs, instead of failing the first SQLite file opened with the addon's words.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../support/paths.js';

const copy = mkdtempSync(join(tmpdir(), 'xbs-sqlite-module-'));
after(() => rmSync(copy, { recursive: true, force: true }));

test('an addon that cannot load: exit 3, naming better-sqlite3, the folder to check and what to do', () => {
  cpSync(join(repoRoot, 'dist/src'), join(copy, 'dist/src'), { recursive: true });
  cpSync(join(repoRoot, 'package.json'), join(copy, 'package.json'));
  const modules = join(copy, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(join(repoRoot, 'node_modules'))) {
    if (name !== 'better-sqlite3') symlinkSync(join(repoRoot, 'node_modules', name), join(modules, name));
  }
  // What `bindings` throws when it cannot stat its way to the addon.
  const fake = join(modules, 'better-sqlite3');
  mkdirSync(fake);
  writeFileSync(join(fake, 'package.json'), JSON.stringify({ name: 'better-sqlite3', main: 'index.js' }));
  writeFileSync(join(fake, 'index.js'), "module.exports = function Database() { throw new Error('Could not find module root given file: \"lib/database.js\". Do you have a `package.json` file? '); };\n");

  const result = spawnSync(process.execPath, [join(copy, 'dist/src/cli/main.js'), 'report', '-c', join(copy, 'absent.yaml')], { encoding: 'utf8' });
  assert.equal(result.status, 3, result.stderr);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^error: xbackup-scheduler cannot load better-sqlite3, .*: Could not find module root/);
  assert.ok(result.stderr.includes(`can read ${fake} and pass every folder above it`), result.stderr);
  assert.match(result.stderr, /npm rebuild better-sqlite3/);
  assert.doesNotMatch(result.stderr, /state database/);
});
