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

/**
 * The committed text of each file under the generated folders. `npm run build` rewrites them on disk, so the
 * disk would always agree: in a git checkout the commit (HEAD) is what is compared, so a clean clone in CI
 * catches a change to a command or a config key committed without its regenerated files. Outside git (an
 * unpacked package) the files on disk are all there is.
 */
function committedFiles(): Map<string, string> {
  const git = (args: string[]) => spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const files = new Map<string, string>();
  if (git(['rev-parse', '--is-inside-work-tree']).stdout.trim() === 'true') {
    for (const path of git(['ls-tree', '-r', '--name-only', 'HEAD', '--', ...GENERATED_DIRS]).stdout.split('\n').filter(Boolean)) {
      files.set(path, git(['show', `HEAD:${path}`]).stdout);
    }
    return files;
  }
  for (const dir of GENERATED_DIRS.filter((d) => existsSync(join(repoRoot, d)))) {
    for (const name of readdirSync(join(repoRoot, dir))) files.set(`${dir}/${name}`, readFileSync(join(repoRoot, dir, name), 'utf8'));
  }
  return files;
}

/** The committed files that differ from what the code generates now, or that it no longer generates. */
function staleFiles(files: Map<string, string>): string[] {
  const committed = committedFiles();
  const stale = [...files].filter(([path, text]) => committed.get(path) !== text).map(([p]) => p);
  const extra = [...committed.keys()].filter((p) => !files.has(p));
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
  report.options.push({ long: '--colour', description: 'colour the table' });
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
