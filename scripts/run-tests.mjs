#!/usr/bin/env node
// Runs every compiled `*.test.js` under dist/test with node's test runner, several files at once.
// Files are listed explicitly because node 20 would otherwise also run every .js file under a
// `test/` folder, including the test bed's helpers.
// Usage: node scripts/run-tests.mjs [substring ...]   (only files whose path contains one of them)
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return find(path);
    return e.name.endsWith('.test.js') ? [path] : [];
  });
}

const files = find(join(root, 'dist/test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files found${filters.length ? ` matching ${filters.join(', ')}` : ''}; did the build run?`);
  process.exit(1);
}

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
