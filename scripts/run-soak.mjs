#!/usr/bin/env node
// `npm run soak`: the fault tests of test/faults at soak size (XBS_SOAK=1: 100 SIGKILLs on a larger
// bed, a much longer repack race, several disk-full rounds), each with a fresh random seed that it
// prints; XBS_FAULT_SEED=<seed> replays one. Extra arguments narrow the files, as for run-tests.mjs.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runTests = fileURLToPath(new URL('run-tests.mjs', import.meta.url));
const filters = process.argv.length > 2 ? process.argv.slice(2) : ['faults/'];
// An hour per file: a soak's 100 SIGKILLs on a loaded 2-core machine outlast the usual 10 minutes.
const env = { ...process.env, XBS_SOAK: '1', XBS_TEST_TIMEOUT_MS: process.env.XBS_TEST_TIMEOUT_MS ?? '3600000' };
const child = spawn(process.execPath, [runTests, ...filters], { stdio: 'inherit', env });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
