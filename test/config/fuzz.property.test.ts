// Fuzz of the two config readers: the YAML config loader (from mutations of the commented example,
// hostile YAML constructs and random text) and the imapd.conf reader (from a real-looking file, with
// @include chains). Property: a loaded config, or ConfigError(s) naming the file (and a line inside
// it where there is one) whose messages carry no raw control characters; never another exception.
// A hang cannot be asserted in-process; the slowest case is printed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { backupServerPaths } from '../../src/config/backup-server.js';
import { ConfigError, ConfigErrors } from '../../src/config/errors.js';
import { parseImapdConf, readImapdConf, type ImapdConf } from '../../src/config/imapd-conf.js';
import { loadConfig, parseConfig, type Config } from '../../src/config/load.js';
import { CHANNEL_NAME } from '../../src/config/schema.js';
import { fuzzSettings } from '../support/fuzz-settings.js';
import { repoRoot } from '../support/paths.js';

const FILE = '/etc/xbackup-scheduler/config.yaml';
const IMAPD_FILE = '/etc/cyrus/backup-imapd.conf';
const EXAMPLE = readFileSync(join(repoRoot, 'config/config.example.yaml'), 'utf8');
const settings = fuzzSettings();
const dir = mkdtempSync(join(tmpdir(), 'xbs-config-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Characters a terminal or log viewer acts on; a message must show them escaped. */
const RAW_CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

let slowest = { ms: 0, what: '' };
function timed<T>(what: string, work: () => T): T {
  const started = process.hrtime.bigint();
  try {
    return work();
  } finally {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (ms > slowest.ms) slowest = { ms, what: what.length > 200 ? `${what.slice(0, 200)}… (${what.length} characters)` : what };
  }
}

/** The ConfigErrors in whatever was thrown; fails on anything else. */
function configErrors(error: unknown, input: string): readonly ConfigError[] {
  if (error instanceof ConfigErrors) return error.errors;
  if (error instanceof ConfigError) return [error];
  return assert.fail(`threw ${(error as Error)?.name ?? typeof error} instead of a ConfigError on ${JSON.stringify(input.slice(0, 300))}: ${(error as Error)?.stack ?? String(error)}`);
}

function lineCount(text: string): number {
  return text.split(/\r\n|\r|\n/).length;
}

/** file, line, message shape: what an admin needs to find the problem. */
function checkErrors(errors: readonly ConfigError[], files: ReadonlyMap<string, number>, input: string): void {
  assert.ok(errors.length > 0);
  for (const e of errors) {
    assert.ok(e instanceof ConfigError);
    const ownFile = e.file.replace(/:\d+$/, ''); // imapd.conf errors may carry file:line from where()
    assert.ok(files.has(ownFile), `error names ${e.file}, not one of the files read (${[...files.keys()].join(', ')}): ${e.message}`);
    if (e.line !== undefined) {
      assert.ok(Number.isInteger(e.line) && e.line >= 1 && e.line <= files.get(ownFile)!, `line ${e.line} of ${files.get(ownFile)} lines: ${e.message}`);
    }
    assert.ok(e.message.startsWith(`${e.file}${e.line === undefined ? '' : `:${e.line}`}: `), e.message);
    assert.doesNotMatch(e.message, RAW_CONTROL, `raw control character in ${JSON.stringify(e.message)} (input ${JSON.stringify(input.slice(0, 200))})`);
  }
}

// ---------------------------------------------------------------- YAML config

/** What the rest of the tool relies on in a config that loaded. */
function checkConfig(config: Config): void {
  assert.equal(config.file, FILE);
  assert.ok(isAbsolute(config.state) && isAbsolute(config.backupd.imapdConf));
  const names = new Set<string>();
  for (const server of config.servers) {
    assert.ok(!names.has(server.name), 'server names are unique');
    names.add(server.name);
    assert.ok(Number.isInteger(server.port) && server.port >= 1 && server.port <= 65535);
    assert.match(server.channel, CHANNEL_NAME);
    assert.doesNotMatch(server.host, /[\s\p{Cc}]/u);
    assert.ok(server.users.length > 0 && server.users.every((u) => typeof u === 'string' && !/[\s\p{Cc}"\\]/u.test(u)));
    assert.ok(Number.isFinite(server.commandTimeout) && server.commandTimeout >= 0);
    assert.ok((server.passwordFile === undefined) !== (server.passwordEnv === undefined));
  }
  for (const ms of [config.policy.maxAge, config.policy.discoverEvery, config.retry.baseDelay, config.retry.maxDelay, config.bootstrap.pause]) {
    assert.ok(Number.isFinite(ms) && ms >= 0, `duration ${ms}`);
  }
  assert.ok(config.retry.maxDelay >= config.retry.baseDelay);
  assert.ok(Number.isFinite(config.bootstrap.maxGroupBytes.value));
}

function checkYaml(text: string): void {
  let config: Config;
  try {
    config = timed(`YAML ${JSON.stringify(text)}`, () => parseConfig(text, FILE));
  } catch (error) {
    checkErrors(configErrors(error, text), new Map([[FILE, lineCount(text)]]), text);
    return;
  }
  checkConfig(config);
}

/** Scalars of every type and some that try to escape: control characters, YAML syntax, paths, huge numbers. */
const hostileScalar = fc.oneof(
  fc.constantFrom(
    '0', '-1', '1e309', '0x10', '0o17', '.inf', '-.nan', '1.5', '99999999999999999999', 'true', 'no', 'null', '~', '', '""', "''",
    '[]', '{}', '[a, b]', '{a: 1}', '"\\u0000"', '"a\\r\\nb"', '"\\t"', '"\\x7f"', '"\\e[2J"', '"\\u202e"', '"\\u2028"', '"a b"', ' leading',
    '*undefined_alias', '&anchor value', '!!binary aGk=', '!!str 1', '!!int "x"', '!custom x', '!!omap [a: 1]', '!!set {a}', '|', '>-', '"unterminated',
    '../../etc/passwd', '/var/lib/../../x', 'user.*', 'Backup', 'back up', 'imap1.example.com:993', 'imaps://host', '10m', '1h30m', '2GiB', '-5m',
    '*/10 * * * *', '99 99 99 99 99', '0.0.0.0:99999', '[::1]:9465',
  ),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => JSON.stringify(s)),
);

/** Whole lines: document markers, directives, merge keys, self-references, tabs, duplicates of real keys. */
const hostileLine = fc.oneof(
  fc.constantFrom(
    '---', '...', '%YAML 1.1', '%YAML 9.9', '%TAG !x! tag:example.com,2000:', '? [a, b]', ': value', '<<: *defaults', 'defaults: &defaults {maxAge: 1h}',
    'loop: &loop [*loop]', '\tstate: /tab-indented', 'state: /second.db', 'servers: []', 'servers:', '  - name: imap1', '  - {}', '__proto__: {polluted: 1}',
    'constructor: {prototype: {}}', 'policy: {maxAge: 1h, maxAge: 2h}', '# comment', '', '  ', 'key: value # trailing', '- a', 'a:b:c', '"quoted key": 1',
  ),
  fc.tuple(fc.constantFrom('state', 'policy', 'servers', 'backupd', 'retry', 'bootstrap', 'http', 'unknown', '  maxAge', '    host', '    users'), hostileScalar).map(([k, v]) => `${k}: ${v}`),
);

type LineEdit =
  | { op: 'delete'; at: number }
  | { op: 'duplicate'; at: number }
  | { op: 'swap'; at: number; with: number }
  | { op: 'insert'; at: number; line: string }
  | { op: 'value'; at: number; value: string }
  | { op: 'indent'; at: number; by: number }
  | { op: 'chars'; at: number; text: string }
  | { op: 'truncate'; at: number };

const position = fc.nat({ max: 0x7fffffff });
const controlText = fc.array(fc.constantFrom('\0', '\r', '\n', '\t', '\x7f', '\x1b[31m', '\x85', '\u2028', '\ufeff', '\ud800', ':', '#', '"', "'", '&', '*', '!', '|', '{', '['), { minLength: 1, maxLength: 4 }).map((a) => a.join(''));

const lineEdit: fc.Arbitrary<LineEdit> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: position }),
  fc.record({ op: fc.constant('duplicate' as const), at: position }),
  fc.record({ op: fc.constant('swap' as const), at: position, with: position }),
  fc.record({ op: fc.constant('insert' as const), at: position, line: hostileLine }),
  fc.record({ op: fc.constant('value' as const), at: position, value: hostileScalar }),
  fc.record({ op: fc.constant('indent' as const), at: position, by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ op: fc.constant('chars' as const), at: position, text: controlText }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
);

function applyEdits(text: string, edits: readonly LineEdit[]): string {
  let lines = text.split('\n');
  for (const edit of edits) {
    const i = edit.at % Math.max(1, lines.length);
    switch (edit.op) {
      case 'delete': lines.splice(i, 1); break;
      case 'duplicate': lines.splice(i, 0, lines[i] ?? ''); break;
      case 'swap': {
        const j = edit.with % Math.max(1, lines.length);
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
        break;
      }
      case 'insert': lines.splice(i, 0, edit.line); break;
      case 'value': lines[i] = (lines[i] ?? '').replace(/^(\s*-?\s*[\w"]+:)\s.*$/, `$1 ${edit.value}`); break;
      case 'indent': lines[i] = edit.by >= 0 ? ' '.repeat(edit.by) + (lines[i] ?? '') : (lines[i] ?? '').replace(new RegExp(`^ {0,${-edit.by}}`), ''); break;
      case 'chars': {
        const joined = lines.join('\n');
        const at = edit.at % (joined.length + 1);
        lines = (joined.slice(0, at) + edit.text + joined.slice(at)).split('\n');
        break;
      }
      case 'truncate': lines = lines.join('\n').slice(0, edit.at % (text.length + 1)).split('\n'); break;
    }
  }
  return lines.join('\n');
}

const mutatedExample = fc.array(lineEdit, { minLength: 1, maxLength: 6 }).map((edits) => applyEdits(EXAMPLE, edits));

/** `levels` of anchors, each a list of `width` aliases to the one before: width^levels copies when expanded. */
function aliasBomb(levels: number, width: number, under: string): string {
  const lines = [`${under}:`, `  l0: &l0 ["lol"]`];
  for (let level = 1; level <= levels; level++) {
    lines.push(`  l${level}: &l${level} [${Array.from({ length: width }, () => `*l${level - 1}`).join(', ')}]`);
  }
  return lines.join('\n');
}

const yamlBombs = fc.oneof(
  fc.record({ levels: fc.integer({ min: 1, max: 12 }), width: fc.integer({ min: 1, max: 12 }), under: fc.constantFrom('policy', 'servers', 'bombs') }).map(({ levels, width, under }) => aliasBomb(levels, width, under)),
  // Deep nesting: flow brackets, flow maps, block maps, block lists.
  fc.record({ depth: fc.integer({ min: 1, max: 3000 }), kind: fc.constantFrom('[', '{a: ', 'map', 'list') }).map(({ depth, kind }) => {
    if (kind === '[') return `servers: ${'['.repeat(depth)}${']'.repeat(depth)}`;
    if (kind === '{a: ') return `policy: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
    if (kind === 'map') return Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
    return Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}-`).join('\n');
  }),
  // The same key many times, at the top and inside a server.
  fc.integer({ min: 2, max: 50 }).map((n) => `${'state: /a.db\n'.repeat(n)}servers:\n  - name: a\n${'    host: h\n'.repeat(n)}`),
);

const randomText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.string({ unit: 'grapheme', maxLength: 400 }),
  fc.array(fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>', '"', "'", '#', '?', '%', '@', '`', '\t', '\\'), { maxLength: 300 }).map((a) => a.join('')),
);

// ---------------------------------------------------------------- imapd.conf

const IMAPD_CONF = `# Cyrus backup server
configdirectory: /var/lib/cyrus
backuppartition-default: /var/spool/cyrus/backup
backuppartition-two: /srv/backup2
backup_db: twoskip
backup_db_path: /var/lib/cyrus/backups.db
backup_staging_path: /var/spool/cyrus/backup-staging
temp_path: /tmp
admins: backupadmin \\
  cyrus
sasl_pwcheck_method: saslauthd
sasl_mech_list: PLAIN
servername: backup1.example.com
syslog_prefix: cyrus-backup
unixhierarchysep: no
altnamespace: no
virtdomains: userid
`;

function checkImapdConf(text: string): void {
  let conf: ImapdConf;
  try {
    conf = timed(`imapd.conf ${JSON.stringify(text)}`, () => parseImapdConf(text, IMAPD_FILE));
  } catch (error) {
    checkErrors(configErrors(error, text), new Map([[IMAPD_FILE, lineCount(text)]]), text);
    return;
  }
  for (const [key, entry] of conf.entries) {
    assert.equal(key, key.toLowerCase());
    assert.ok(!key.includes(':') && key !== '');
    assert.equal(entry.file, IMAPD_FILE);
    assert.ok(entry.line >= 1 && entry.line <= lineCount(text));
  }
  try {
    const paths = backupServerPaths(conf);
    assert.ok(isAbsolute(paths.backupsDb));
    assert.ok(['twoskip', 'skiplist', 'flat'].includes(paths.backupsDbFormat));
  } catch (error) {
    checkErrors(configErrors(error, text), new Map([[IMAPD_FILE, lineCount(text)]]), text);
  }
}

const imapdLine = fc.oneof(
  fc.constantFrom(
    'configdirectory:', 'backup_db: zeroskip', 'backup_db: TWOSKIP', 'backup_db_path: relative/backups.db', 'backup_db_path:', 'nonsense', ':value', ' : ',
    '@include: missing.conf', '@include:', '@INCLUDE: /dev/null', 'key:\x00value', 'key: \x1b[31mred', 'backuppartition-: /x', 'a\\', '\\', '#\\', 'k: v\\',
    'ConfigDirectory: /Mixed/Case', 'configdirectory: /second/value', 'k\u2028: v', '\ufeffconfigdirectory: /bom',
  ),
  fc.tuple(fc.string({ unit: 'binary-ascii', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 20 })).map(([k, v]) => `${k}: ${v}`),
);

const imapdText = fc.oneof(
  fc.record({ at: position, line: imapdLine, edits: fc.array(lineEdit, { maxLength: 3 }) }).map(({ at, line, edits }) => {
    const lines = IMAPD_CONF.split('\n');
    lines.splice(at % lines.length, 0, line);
    return applyEdits(lines.join('\n'), edits.filter((e) => e.op !== 'insert' && e.op !== 'value'));
  }),
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.integer({ min: 1, max: 5000 }).map((n) => `admins: a \\\n${'  b \\\n'.repeat(n)}  end\nconfigdirectory: /c\nbackuppartition-default: /b\n`),
);

// ---------------------------------------------------------------- tests

describe('config readers on hostile input', () => {
  after(() => console.log(`# config fuzz: ${settings.describe()}; slowest case ${slowest.ms.toFixed(1)} ms: ${slowest.what}`));

  test('the fuzz settings, and the unmutated inputs load', (t) => {
    t.diagnostic(settings.describe());
    checkConfig(parseConfig(EXAMPLE, FILE));
    assert.equal(backupServerPaths(parseImapdConf(IMAPD_CONF, IMAPD_FILE)).backupsDb, '/var/lib/cyrus/backups.db');
  });

  test('mutations of the example config: a config or ConfigErrors with file and line', { timeout: 120_000 }, () => {
    fc.assert(fc.property(mutatedExample, checkYaml), { seed: settings.seed, numRuns: settings.runs(1200) });
  });

  test('alias bombs, deep nesting and repeated keys: refused or loaded, never a raw exception', { timeout: 120_000 }, () => {
    fc.assert(fc.property(yamlBombs, checkYaml), { seed: settings.seed, numRuns: settings.runs(150) });
  });

  test('random text as a YAML config', { timeout: 120_000 }, () => {
    fc.assert(fc.property(randomText, checkYaml), { seed: settings.seed, numRuns: settings.runs(1500) });
  });

  test('mutated and random imapd.conf: entries or a ConfigError with file and line', { timeout: 120_000 }, () => {
    fc.assert(fc.property(imapdText, checkImapdConf), { seed: settings.seed, numRuns: settings.runs(2000) });
  });

  test('imapd.conf @include graphs (loops, self-includes, fan-out, missing files, directories): read or refused', { timeout: 120_000 }, () => {
    const graph = fc.array(fc.array(fc.oneof(fc.nat({ max: 5 }), fc.constantFrom('missing', 'directory', '/dev/null')), { maxLength: 6 }), { minLength: 1, maxLength: 6 });
    let run = 0;
    fc.assert(
      fc.property(graph, (includes) => {
        const root = join(dir, `includes-${run++}`);
        mkdirSync(join(root, 'directory'), { recursive: true });
        const files = new Map<string, number>();
        includes.forEach((targets, i) => {
          const text = [`key${i}: ${i}`, ...targets.map((t) => `@include: ${typeof t === 'number' ? `f${t % includes.length}.conf` : t}`)].join('\n') + '\n';
          writeFileSync(join(root, `f${i}.conf`), text);
          files.set(join(root, `f${i}.conf`), lineCount(text));
        });
        try {
          const conf = timed(`includes ${JSON.stringify(includes)}`, () => readImapdConf(join(root, 'f0.conf')));
          assert.equal(conf.get('key0'), '0');
        } catch (error) {
          checkErrors(configErrors(error, JSON.stringify(includes)), files, JSON.stringify(includes));
        }
      }),
      { seed: settings.seed, numRuns: settings.runs(200) },
    );
  });

  test('huge inputs: a 10 MB value, a 10 MB key, 200 000 lines, 200 000 continued lines', { timeout: 120_000 }, () => {
    const huge = 'x'.repeat(10_000_000);
    checkYaml(`state: ${huge}\n`);
    checkYaml(`${huge}: 1\n`);
    checkYaml('policy:\n' + '  # comment\n'.repeat(200_000) + '  maxAge: 1h\n');
    checkImapdConf(`configdirectory: /c\nbackuppartition-default: /b\nadmins: ${huge}\n`);
    checkImapdConf(`configdirectory: /c\nbackuppartition-default: /b\n` + 'k: v\n'.repeat(200_000));
    checkImapdConf(`admins: a \\\n${'b\\\n'.repeat(200_000)}c\nconfigdirectory: /c\nbackuppartition-default: /b\n`);
  });

  test('a config file that is not UTF-8, empty, or a directory', () => {
    const binary = join(dir, 'binary.yaml');
    writeFileSync(binary, Buffer.from([0xff, 0xfe, 0x00, 0x73, 0x3a, 0x20, 0xc3, 0x28, 0x0a, 0x80]));
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '');
    for (const file of [binary, empty, dir]) {
      try {
        loadConfig(file);
      } catch (error) {
        checkErrors(configErrors(error, file), new Map([[file, 10]]), file);
      }
    }
  });
});

describe('regressions found by this fuzz', () => {
  test('an alias bomb is a ConfigError at the first alias, not a raw ReferenceError', () => {
    const text = aliasBomb(9, 9, 'policy');
    assert.throws(() => parseConfig(text, FILE), (error) => error instanceof ConfigError && error.line === 3 && /aliases .* expand to too much data/.test(error.message));
  });

  test('!!omap, !!set and a %YAML 1.1 directive no longer turn a section into an empty Map or Set (which loaded as all defaults)', () => {
    for (const text of ['policy: !!omap [maxAge: 1s]\n', 'policy: !!set {maxAge}\n', '%YAML 1.1\n---\npolicy: !!omap [maxAge: 1s]\n']) {
      assert.throws(() => parseConfig(text, FILE), (error) => error instanceof ConfigErrors && /Unresolved tag/.test(error.message), text);
    }
  });

  test('an unknown key with an escape sequence is shown escaped (when it is named: one close to an allowed key)', () => {
    assert.throws(() => parseConfig('"polic\\e[": 1\n', FILE), (error) => error instanceof ConfigErrors && error.message.includes('polic\\u001b[: unknown key') && !RAW_CONTROL.test(error.message));
    assert.throws(() => parseConfig('"\\e[2Jpolicy": 1\n', FILE), (error) => error instanceof ConfigErrors && error.message.includes(': unknown key, not named') && !RAW_CONTROL.test(error.message));
  });

  test('a value with control characters is echoed escaped', () => {
    assert.throws(() => parseConfig('policy:\n  maxAge: "1h\\r\\n\\e[31m"\n', FILE), (error) => error instanceof ConfigErrors && /^\/etc\/xbackup-scheduler\/config\.yaml:2: policy\.maxAge: /.test(error.message) && !RAW_CONTROL.test(error.message));
  });

  test('200 000 continued imapd.conf lines are read in linear time (they took 12 s before)', () => {
    const conf = parseImapdConf(`admins: a \\\n${'b\\\n'.repeat(200_000)}c\n`, IMAPD_FILE);
    assert.equal(conf.get('admins')!.length, 'a '.length + 200_000 + 1);
  });

  test('a missing included file is reported at the @include line, not as a file of its own', () => {
    assert.throws(() => parseImapdConf('configdirectory: /c\n@include: missing.conf\n', IMAPD_FILE), /^ConfigError: \/etc\/cyrus\/backup-imapd\.conf:2: @include: cannot read \/etc\/cyrus\/missing\.conf: ENOENT$/);
  });

  test('an imapd.conf that includes itself, or a file twice, is refused as Cyrus refuses it', () => {
    const root = join(dir, 'self-include');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'self.conf'), 'a: 1\n' + '@include: self.conf\n'.repeat(10));
    assert.throws(() => readImapdConf(join(root, 'self.conf')), new RegExp(`^ConfigError: ${root}/self\\.conf:2: @include: ${root}/self\\.conf is included twice`));
    writeFileSync(join(root, 'common.conf'), 'b: 2\n');
    writeFileSync(join(root, 'twice.conf'), '@include: common.conf\n@include: common.conf\n');
    assert.throws(() => readImapdConf(join(root, 'twice.conf')), /twice\.conf:2: @include: .*common\.conf is included twice/);
  });
});
