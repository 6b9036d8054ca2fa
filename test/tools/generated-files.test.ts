import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliModel } from '../../tools/generate/cli-model.js';
import { bashCompletion } from '../../tools/generate/completions.js';
import { GENERATED_DIRS, generatedFiles } from '../../tools/generate/generated-files.js';
import { manPages } from '../../tools/generate/man-pages.js';
import { repoRoot } from '../support/paths.js';

/** The committed files that differ from what the code generates now, or that it no longer generates. */
function staleFiles(files: Map<string, string>): string[] {
  const stale = [...files].filter(([path, text]) => !existsSync(join(repoRoot, path)) || readFileSync(join(repoRoot, path), 'utf8') !== text).map(([p]) => p);
  const extra = GENERATED_DIRS.flatMap((dir) => (existsSync(join(repoRoot, dir)) ? readdirSync(join(repoRoot, dir)).map((n) => `${dir}/${n}`) : [])).filter((p) => !files.has(p));
  return [...stale, ...extra].sort();
}

test('the committed man pages, completions and config JSON Schema are what the code generates (run npm run build and commit them)', () => {
  assert.deepEqual(staleFiles(generatedFiles()), []);
});

test('package.json\'s "man" lists every generated man page, so that npm install -g links them all', () => {
  const man = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { man: string[] }).man;
  assert.deepEqual([...man].sort(), [...generatedFiles().keys()].filter((p) => p.startsWith('man/')).map((p) => `./${p}`).sort());
});

test('a command whose option changed makes its committed man page and the completions stale', () => {
  const model = cliModel();
  const report = model.commands.find((c) => c.path.join(' ') === 'report')!;
  report.options.push({ long: '--timeout', value: { name: 'duration', optional: false }, description: 'give up after this long' });
  const files = new Map(generatedFiles());
  for (const [name, text] of manPages(model, JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version)) files.set(`man/${name}`, text);
  files.set('completions/xbackup-scheduler.bash', bashCompletion(model));
  assert.deepEqual(staleFiles(files), ['completions/xbackup-scheduler.bash', 'man/xbackup-scheduler-report.1']);
});

test('every man page renders with groff without a warning', () => {
  for (const name of readdirSync(join(repoRoot, 'man'))) {
    const result = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', join(repoRoot, 'man', name)], { encoding: 'utf8' });
    assert.equal(result.status, 0, `${name}: ${result.error?.message ?? result.stderr}`);
    assert.equal(result.stderr, '', name);
  }
});

/** What bash completes for the words typed so far (the last one being completed). */
function bashCompletes(...words: string[]): string[] {
  const script = `source ${JSON.stringify(join(repoRoot, 'completions/xbackup-scheduler.bash'))}
cd ${JSON.stringify(join(repoRoot, 'config'))}
COMP_WORDS=(xbackup-scheduler ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}
_xbackup_scheduler; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['--norc', '-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

test('bash completes commands, subcommands, options, an option\'s choices and file names for --config', () => {
  assert.deepEqual(bashCompletes('re'), ['report']);
  assert.deepEqual(bashCompletes('config', ''), ['show', 'validate']);
  assert.deepEqual(bashCompletes('report', '--format', ''), ['csv', 'json', 'nagios', 'prometheus', 'table']);
  assert.deepEqual(bashCompletes('report', '--limit', '5', '--so'), ['--sort']);
  assert.deepEqual(bashCompletes('report', '--limit', ''), []);
  assert.deepEqual(bashCompletes('config', 'validate', '-c', 'config.ex'), ['config.example.yaml']);
  assert.deepEqual(bashCompletes('config', 'validate', '--c'), ['--config']);
  assert.ok(bashCompletes('diagnose', '--').includes('--userids'));
});

test('the zsh completion is valid zsh', { skip: spawnSync('zsh', ['--version']).error ? 'zsh is not installed' : false }, () => {
  const result = spawnSync('zsh', ['-n', join(repoRoot, 'completions/_xbackup-scheduler')], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
});
