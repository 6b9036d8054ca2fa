#!/usr/bin/env node
// Runs the compiled test files (dist/test/**/*.test.js) with node's test runner, several files at once,
// and the release matrix: each compatibility file again against each pair of Cyrus releases in
// test/cyrus/releases.ts (files written here under dist/test/releases/, whose Debian roots
// scripts/cyrus-roots.sh builds first when they are missing).
// Files are listed explicitly because node 20 would otherwise also run every .js file under a
// `test/` folder, including the test bed's helpers.
// Usage: node scripts/run-tests.mjs [--unit] [substring ...]
//   --unit       only the unit set: every test file that does not start Cyrus (see CYRUS_FOLDERS)
//   substring    only files whose path contains one of them
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => a !== '--unit');

/**
 * The tests that start Cyrus (a test bed, and the CLI against it) live under these folders of test/,
 * or anywhere as *.integration.test.ts; every other test file is in the unit set (`npm run test:unit`).
 * A unit file that imports the test bed anyway is refused below, whichever set runs.
 */
const CYRUS_FOLDERS = ['cyrus', 'integration', 'faults'];
const startsCyrus = (source) => CYRUS_FOLDERS.some((f) => source.startsWith(`test/${f}/`)) || source.endsWith('.integration.test.ts');
const TESTBED = join(root, 'dist/test/cyrus/testbed.js');

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return find(path);
    return e.name.endsWith('.test.ts') ? [path] : [];
  });
}

// From the sources, so that a test file deleted or renamed since the last build does not run from dist.
const sources = find(join(root, 'test')).map((f) => relative(root, f)).sort();
const compiled = (source) => join('dist', source.replace(/\.ts$/, '.js'));

/** The relative imports of a compiled module, static and literal dynamic ones (type-only imports are gone from the .js). */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/(?:^|[;\s])(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"](\.\.?\/[^'"]+)['"]/g),
    ...text.matchAll(/\bimport\(\s*['"](\.\.?\/[^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]);
  return specifiers.map((s) => resolve(dirname(file), s)).filter((f) => f.endsWith('.js') && existsSync(f));
}

/** The chain of imports from `file` to the test bed, or null when it never imports it. */
function pathToTestBed(file) {
  const seen = new Set([file]);
  const queue = [[file]];
  while (queue.length > 0) {
    const chain = queue.shift();
    for (const next of importsOf(chain.at(-1))) {
      if (next === TESTBED) return [...chain, next];
      if (!seen.has(next)) {
        seen.add(next);
        queue.push([...chain, next]);
      }
    }
  }
  return null;
}

const missing = sources.filter((s) => !existsSync(join(root, compiled(s))));
if (missing.length > 0) {
  console.error(`not compiled: ${missing.join(', ')}; did the build run?`);
  process.exit(1);
}

const misplaced = sources
  .filter((s) => !startsCyrus(s))
  .map((s) => ({ source: s, chain: pathToTestBed(join(root, compiled(s))) }))
  .filter((m) => m.chain);
if (misplaced.length > 0) {
  for (const { source, chain } of misplaced) {
    console.error(`${source} uses the Cyrus test bed (${chain.map((f) => relative(join(root, 'dist'), f)).join(' → ')})`);
  }
  console.error(`so it does not belong to the unit set: move it under test/{${CYRUS_FOLDERS.join(',')}}/ or name it *.integration.test.ts`);
  process.exit(1);
}

const wanted = (f) => filters.length === 0 || filters.some((s) => f.includes(s));
const matrixFiles = unitOnly ? [] : (await writeReleaseMatrix()).filter(wanted);
const files = [
  ...sources
    .filter((s) => !unitOnly || !startsCyrus(s))
    .map(compiled)
    .filter(wanted),
  ...matrixFiles,
];
if (files.length === 0) {
  console.error(`no test files found${filters.length ? ` matching ${filters.join(', ')}` : ''}${unitOnly ? ' in the unit set' : ''}`);
  process.exit(1);
}

if (matrixFiles.length > 0) buildRoots();

// Integration files mostly wait on Cyrus, so more files than cores run at once.
const concurrency = process.env.XBS_TEST_CONCURRENCY ?? '4';
const reporter = process.env.XBS_TEST_REPORTER ?? 'spec';
// A bound on each file, over any test's own timeout (the soak's files run longer).
const timeout = process.env.XBS_TEST_TIMEOUT_MS ?? '600000';
const child = spawn(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, `--test-reporter=${reporter}`, `--test-timeout=${timeout}`, ...files],
  // XBS_TEST_SET tells the few long in-process tests (test/support/test-set.ts) that this is the quick run.
  { cwd: root, stdio: 'inherit', env: unitOnly ? { ...process.env, XBS_TEST_SET: 'unit' } : process.env },
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
