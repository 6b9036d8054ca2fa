// What `npm install -g xbackup-scheduler` gets: the packed file list (`npm pack --dry-run`, without its
// prepack build) holds the licence, every document and shipped file the README points at, and no source
// map whose sources stay behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path/posix';
import { before, describe, test } from 'node:test';
import { repoRoot } from '../support/paths.js';

interface PackEntry {
  path: string;
}

let packed: Set<string>;

/** Every markdown link target in `text` that is a path (no scheme, not an anchor alone), without its anchor. */
function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.replace(/#.*$/, ''));
}

describe('the npm package', () => {
  before(() => {
    const result = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const [pack] = JSON.parse(result.stdout) as Array<{ files: PackEntry[] }>;
    packed = new Set(pack!.files.map((f) => f.path));
  });

  test('holds the MIT licence that package.json names', () => {
    assert.equal(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).license, 'MIT');
    assert.ok(packed.has('LICENSE'), 'LICENSE is not packed');
    const licence = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');
    assert.match(licence, /^MIT License\n\nCopyright \(c\) \d{4} xbackup-scheduler contributors\n/);
    assert.match(licence, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
  });

  test('every relative link of a packed markdown file resolves inside the package', () => {
    const broken: string[] = [];
    for (const doc of [...packed].filter((p) => p.endsWith('.md'))) {
      for (const target of relativeLinks(readFileSync(join(repoRoot, doc), 'utf8'))) {
        const resolved = normalize(join(dirname(doc), target));
        if (!packed.has(resolved) && ![...packed].some((p) => p.startsWith(`${resolved.replace(/\/$/, '')}/`))) broken.push(`${doc} → ${target}`);
      }
    }
    assert.deepEqual(broken, [], 'links to files the package lacks');
  });

  test('every file under config/, contrib/ or docs/ that the README names is packed', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const named = new Set([...readme.matchAll(/`((?:config|contrib|docs)\/[\w./-]+\.\w+)`/g)].map((m) => m[1]!));
    assert.ok(named.size > 0);
    assert.deepEqual([...named].filter((f) => !packed.has(f)), []);
  });

  test('no source map without the sources it points at', () => {
    const orphans: string[] = [];
    for (const map of [...packed].filter((p) => p.endsWith('.map'))) {
      const { sources } = JSON.parse(readFileSync(join(repoRoot, map), 'utf8')) as { sources: string[] };
      for (const source of sources) if (!packed.has(normalize(join(dirname(map), source)))) orphans.push(`${map} → ${source}`);
    }
    assert.deepEqual(orphans.slice(0, 5), [], `${orphans.length} source maps point at sources not packed`);
  });

  test('the program, its example config and its units are packed', () => {
    for (const file of ['dist/src/cli/main.js', 'config/config.example.yaml', 'config/xbackup-scheduler.service', 'README.md', 'package.json']) {
      assert.ok(packed.has(file), `${file} is not packed`);
    }
  });
});
