#!/usr/bin/env node
// Installs the project's dependencies (npm ci) when a fresh clone has none yet, or when package-lock.json
// changed since they were installed: the README's two commands work on a clone where nothing is installed.
// "Changed" is by content (a hash kept beside the modules), not by time: a new git worktree's lockfile is
// newer than any install, and a worktree sharing another checkout's node_modules must not reinstall them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const modules = join(root, 'node_modules');
const npmRecord = join(modules, '.package-lock.json');
const ourRecord = join(modules, '.xbs-lock-sha256');
const lock = join(root, 'package-lock.json');
const lockHash = createHash('sha256').update(readFileSync(lock)).digest('hex');

function upToDate() {
  if (existsSync(ourRecord)) return readFileSync(ourRecord, 'utf8').trim() === lockHash;
  // Installed by a plain `npm ci` (as .ci/run does) after the lockfile was written.
  return existsSync(npmRecord) && statSync(npmRecord).mtimeMs >= statSync(lock).mtimeMs;
}

if (!upToDate()) {
  console.log('installing the dependencies (npm ci)');
  const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (npm.status !== 0) process.exit(npm.status ?? 1);
}
writeFileSync(ourRecord, `${lockHash}\n`);
