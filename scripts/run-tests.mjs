#!/usr/bin/env node
// Runs every compiled `*.test.js` under dist/test with node's test runner, several files at once, and
// the release matrix: each compatibility file again against each pair of Cyrus releases in
// test/cyrus/releases.ts (files written here under dist/test/releases/, whose Debian roots
// scripts/cyrus-roots.sh builds first when they are missing).
// Files are listed explicitly because node 20 would otherwise also run every .js file under a
// `test/` folder, including the test bed's helpers.
// Usage: node scripts/run-tests.mjs [substring ...]   (only files whose path contains one of them)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const wanted = (f) => filters.length === 0 || filters.some((s) => f.includes(s));

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return find(path);
    return e.name.endsWith('.test.js') ? [path] : [];
  });
}

const matrixFiles = await writeReleaseMatrix();
const files = find(join(root, 'dist/test'))
  .map((f) => relative(root, f))
  .filter(wanted)
  .sort();
if (files.length === 0) {
  console.error(`no test files found${filters.length ? ` matching ${filters.join(', ')}` : ''}; did the build run?`);
  process.exit(1);
}
if (matrixFiles.some(wanted)) buildRoots();

// Integration files mostly wait on Cyrus, so more files than cores run at once.
const concurrency = process.env.XBS_TEST_CONCURRENCY ?? '4';
const reporter = process.env.XBS_TEST_REPORTER ?? 'spec';
// A bound on each file, over any test's own timeout (the soak's files run longer).
const timeout = process.env.XBS_TEST_TIMEOUT_MS ?? '600000';
const child = spawn(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, `--test-reporter=${reporter}`, `--test-timeout=${timeout}`, ...files],
  { cwd: root, stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

/** dist/test/releases/cyrus-<imap>[-backupd-<backup>]/<file>: two lines that run <file> against that pair. */
async function writeReleaseMatrix() {
  const { RELEASE_MATRIX, COMPATIBILITY_FILES, pairName } = await import(join(root, 'dist/test/cyrus/releases.js'));
  const base = join(root, 'dist/test/releases');
  rmSync(base, { recursive: true, force: true });
  const written = [];
  for (const pair of RELEASE_MATRIX) {
    const folder = pair.imap === pair.backup ? `cyrus-${pair.imap}` : `cyrus-${pair.imap}-backupd-${pair.backup}`;
    for (const file of COMPATIBILITY_FILES) {
      const target = join(base, folder, file);
      mkdirSync(dirname(target), { recursive: true });
      const up = relative(dirname(target), join(root, 'dist/test'));
      writeFileSync(
        target,
        `import { runAgainst } from '${up}/cyrus/release-run.js';\n` +
          `runAgainst('${pairName(pair)}', new URL('${up}/${file}', import.meta.url));\n`,
      );
      written.push(relative(root, target));
    }
  }
  return written;
}

/** The roots are built once and reused; without them (no root, no mirror) the matrix says why it skipped. */
function buildRoots() {
  if (process.getuid?.() !== 0) return;
  const result = spawnSync('bash', [join(root, 'scripts/cyrus-roots.sh')], { stdio: 'inherit' });
  if (result.status !== 0) console.error('run-tests: the Cyrus release roots could not be built; the release matrix will say so');
}
