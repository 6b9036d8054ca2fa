import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, describe, test } from 'node:test';
import { ConfigError, ConfigErrors } from '../../src/config/errors.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { repoRoot } from '../support/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

/** The problems a load reports, as the strings an admin would read. */
function problems(text: string, options = {}): string[] {
  const file = write('c.yaml', text);
  try {
    loadConfig(file, options);
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message.replace(`${file}:`, 'c.yaml:'));
    if (err instanceof ConfigError) return [err.message.replace(`${file}:`, 'c.yaml:')];
    throw err;
  }
  return [];
}

const SERVER = `servers:
  - name: imap1
    host: 127.0.0.1
    port: 1143
    tls: none
    user: admin
    passwordEnv: IMAP1_PASSWORD
`;

describe('a valid file', () => {
  test('the commented example in config/ loads with its values and defaults', () => {
    const c = loadConfig(join(repoRoot, 'config/config.example.yaml'));
    assert.equal(c.servers.length, 1);
    const s = c.servers[0]!;
    assert.equal(s.name, 'imap1');
    assert.equal(s.port, 993);
    assert.equal(s.tls, 'implicit');
    assert.equal(s.tlsVerify, true);
    assert.equal(s.channel, 'backup');
    assert.deepEqual(s.users, ['*']);
    assert.equal(s.maxConcurrent, 2);
    assert.equal(s.commandTimeout, 6 * 3600_000);
    assert.equal(s.stepTimeout, 30_000);
    assert.equal(c.policy.maxAge, 24 * 3600_000);
    assert.equal(c.policy.schedule, '*/10 * * * *');
    assert.equal(c.retry.baseDelay, 5 * 60_000);
    assert.deepEqual(c.bootstrap.maxGroupBytes, { value: 2 * 2 ** 30, text: '2GiB' });
    assert.equal(c.bootstrap.order, 'smallest');
    assert.deepEqual(c.http.listen, { host: '127.0.0.1', port: 9465 });
    assert.equal(s.password, undefined, 'passwords are not read unless asked for');
  });

  test('a minimal file gets every default, and relative paths are taken from the file\'s folder', () => {
    const c = parseConfig('state: state.db\nbackupd:\n  imapdConf: backup/imapd.conf\n', join(dir, 'min.yaml'));
    assert.equal(c.state, join(dir, 'state.db'));
    assert.equal(c.backupd.imapdConf, join(dir, 'backup/imapd.conf'));
    assert.equal(c.policy.failingAfter, 3);
    assert.equal(c.policy.discoverEvery, 3600_000);
    assert.equal(c.policy.shutdownGrace, 60_000);
    assert.equal(c.retry.inDoubtGrace, 2 * 3600_000);
    assert.equal(c.bootstrap.groupSize, 5);
    assert.equal(c.bootstrap.pause, 30_000);
    assert.deepEqual(c.servers, []);
  });

  test('an empty file is a valid file of defaults', () => {
    assert.equal(parseConfig('', join(dir, 'empty.yaml')).state, '/var/lib/xbackup-scheduler/state.db');
  });
});

describe('every error names file, line and key', () => {
  test('unknown key, with what is allowed there', () => {
    const [msg, ...rest] = problems(`${SERVER}    maxConcurent: 2\n`);
    assert.deepEqual(rest, []);
    assert.match(msg!, /^c\.yaml:8: servers\[0\]\.maxConcurent: unknown key; allowed here: .*maxConcurrent/);
  });

  test('unknown top-level key', () => {
    assert.match(problems('polcy:\n  maxAge: 1h\n')[0]!, /^c\.yaml:1: polcy: unknown key; allowed here: backupd, state, servers, policy/);
  });

  test('wrong type', () => {
    assert.deepEqual(problems(SERVER.replace('port: 1143', 'port: "imap"')), ['c.yaml:4: servers[0].port: expected a port number 1-65535']);
  });

  test('bad duration', () => {
    const [msg] = problems('policy:\n  schedule: "*/5 * * * *"\n  maxAge: 24 hours\n');
    assert.match(msg!, /^c\.yaml:3: policy\.maxAge: "24 hours" is not a duration/);
    assert.match(msg!, /90s, 10m, 24h/);
  });

  test('a number without a unit is not a duration', () => {
    assert.match(problems('retry:\n  baseDelay: 300\n')[0]!, /^c\.yaml:2: retry\.baseDelay: expected a retry delay duration with a unit/);
  });

  test('a step timeout too short for any login', () => {
    assert.deepEqual(problems(`${SERVER}    stepTimeout: 10ms\n`), [
      'c.yaml:8: servers[0].stepTimeout: 10ms is below the least step timeout that can work, 100ms: a login is several round trips to the server, and a shorter bound fails on any network but loopback',
    ]);
  });

  test('bad size', () => {
    assert.match(problems('bootstrap:\n  maxGroupBytes: 2 gigs\n')[0]!, /^c\.yaml:2: bootstrap\.maxGroupBytes: "2 gigs" is not a size/);
  });

  test('missing required key points at the entry that lacks it', () => {
    const [msg] = problems(SERVER.replace('    host: 127.0.0.1\n', ''));
    assert.match(msg!, /^c\.yaml:2: servers\[0\]\.host: required key is missing/);
  });

  test('several problems are reported together, each with its own line', () => {
    const found = problems(`policy:\n  maxAge: soon\n  failingAfter: 0\n${SERVER}`);
    assert.equal(found.length, 2);
    assert.match(found[0]!, /^c\.yaml:2: policy\.maxAge:/);
    assert.match(found[1]!, /^c\.yaml:3: policy\.failingAfter: expected the number of failed attempts, a whole number ≥ 1/);
  });

  test('YAML syntax errors carry their line', () => {
    assert.match(problems('policy:\n  maxAge: 1h\n bad: [\n')[0]!, /^c\.yaml:3: YAML: /);
  });

  test('an uppercase channel is refused with the reason', () => {
    assert.match(problems(`${SERVER}    channel: Backup\n`)[0]!, /^c\.yaml:8: servers\[0\]\.channel: expected a lowercase channel name .*Cyrus lowercases/);
  });

  test('a userid pattern with a control character or quote is refused', () => {
    assert.match(problems(`${SERVER}    users: ["a\\"b"]\n`)[0]!, /^c\.yaml:8: servers\[0\]\.users\[0\]: expected a userid pattern without quotes/);
    assert.match(problems(`${SERVER}    users: ["a\\r\\nb"]\n`)[0]!, /servers\[0\]\.users\[0\]/);
  });

  test('plain IMAP to a remote host is refused unless allowInsecure', () => {
    const remote = SERVER.replace('127.0.0.1', 'imap1.example.com');
    assert.match(problems(remote)[0]!, /^c\.yaml:5: servers\[0\]\.tls: tls: none would send the admin password in clear text/);
    assert.deepEqual(problems(`${remote}    allowInsecure: true\n`), []);
  });

  test('duplicate server names', () => {
    const two = `${SERVER}${SERVER.replace('servers:\n', '')}`;
    assert.match(problems(two)[0]!, /^c\.yaml:8: servers\[1\]\.name: server name "imap1" is already used by servers\[0\]/);
  });

  test('maxUnchangedAge: 7d by default, or maxAge when longer; shorter than maxAge is refused on its line', () => {
    const D = 24 * 3600_000;
    assert.equal(parseConfig('', join(dir, 'd.yaml')).policy.maxUnchangedAge, 7 * D);
    assert.equal(parseConfig('', join(dir, 'd.yaml')).policy.compareLive, true);
    assert.equal(parseConfig('policy:\n  maxAge: 30d\n', join(dir, 'd.yaml')).policy.maxUnchangedAge, 30 * D);
    assert.equal(parseConfig('policy:\n  maxAge: 1h\n  maxUnchangedAge: 2d\n', join(dir, 'd.yaml')).policy.maxUnchangedAge, 2 * D);
    assert.match(problems('policy:\n  maxAge: 2d\n  maxUnchangedAge: 1d\n')[0]!, /^c\.yaml:3: policy\.maxUnchangedAge: must be at least policy\.maxAge/);
  });

  test('an invalid cron schedule', () => {
    assert.match(problems('policy:\n  schedule: "every ten minutes"\n')[0]!, /^c\.yaml:2: policy\.schedule: expected a valid cron expression/);
  });

  test('a missing config file says how to give one', () => {
    assert.throws(() => loadConfig(join(dir, 'nope.yaml')), /nope\.yaml: no such file; give one with -c <file> or XBACKUP_SCHEDULER_CONFIG/);
  });
});

describe('values that cannot work are refused, with the least that can', () => {
  const cases: Array<[yaml: string, line: number, key: string, least: string]> = [
    ['policy:\n  maxAge: 0s\n', 2, 'policy.maxAge', '0s is below the least maximum backup age that can work, 1s: '],
    ['policy:\n  maxAge: 500ms\n', 2, 'policy.maxAge', '500ms is below the least maximum backup age that can work, 1s: '],
    [`${SERVER}    commandTimeout: 5ms\n`, 8, 'servers[0].commandTimeout', '5ms is below the least command timeout that can work, 1s: '],
    ['retry:\n  baseDelay: 0s\n', 2, 'retry.baseDelay', '0s is below the least retry delay that can work, 1s: '],
    ['retry:\n  inDoubtGrace: 0s\n', 2, 'retry.inDoubtGrace', '0s is below the least in-doubt grace that can work, 1s: '],
    ['bootstrap:\n  maxGroupBytes: 0\n', 2, 'bootstrap.maxGroupBytes', '0B is below the least group size in bytes that can work, 1B: '],
    ['bootstrap:\n  maxGroupBytes: 0MB\n', 2, 'bootstrap.maxGroupBytes', '0MB is below the least group size in bytes that can work, 1B: '],
  ];
  for (const [yaml, line, key, least] of cases) {
    test(`${key}: ${yaml.trim().split('\n').at(-1)!.trim()}`, () => {
      const found = problems(yaml);
      assert.equal(found.length, 1, found.join('\n'));
      assert.ok(found[0]!.startsWith(`c.yaml:${line}: ${key}: ${least}`), found[0]);
    });
  }

  test('the shortest values the test suites and the sandbox use still load', () => {
    const c = parseConfig(
      `${SERVER}    commandTimeout: 1s\n    stepTimeout: 100ms\npolicy:\n  maxAge: 1s\n  discoverEvery: 0s\n  shutdownGrace: 0s\nretry:\n  baseDelay: 1s\n  maxDelay: 1s\n  inDoubtGrace: 1s\nbootstrap:\n  pause: 0s\n  maxGroupBytes: 1\n  minStagingFreeBytes: 0\n`,
      'c.yaml',
    );
    assert.equal(c.policy.maxAge, 1000);
    assert.equal(c.servers[0]!.commandTimeout, 1000);
    assert.equal(c.bootstrap.pause, 0);
  });

  test('a size is kept with the text it was configured as, which messages say back', () => {
    const c = parseConfig('bootstrap:\n  maxGroupBytes: 12MB\n  minStagingFreeBytes: 5368709120\n', 'c.yaml');
    assert.deepEqual(c.bootstrap.maxGroupBytes, { value: 12_000_000, text: '12MB' });
    assert.deepEqual(c.bootstrap.minStagingFreeBytes, { value: 5_368_709_120, text: '5368709120B' });
  });
});

describe('the same IMAP server listed twice', () => {
  test('is refused at load, naming both entries, at the second one\'s line', () => {
    const second = SERVER.replace('servers:\n', '').replace('name: imap1', 'name: imap1-again');
    assert.deepEqual(problems(`${SERVER}${second}`), [
      'c.yaml:9: servers[1].host: servers[1] "imap1-again" and servers[0] "imap1" are the same IMAP server, 127.0.0.1:1143: every user would be found on both, as a conflict, and backed up by neither; list each IMAP server once',
    ]);
  });

  test('by the port its TLS mode implies, and whatever the case of the host name', () => {
    const yaml = 'servers:\n' + ['IMAP.example.com', 'imap.example.com'].map((host, i) => `  - name: s${i}\n    host: ${host}\n    ${i === 0 ? 'port: 993\n    ' : ''}user: admin\n    passwordEnv: P\n`).join('');
    const found = problems(yaml);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, /servers\[1\] "s1" and servers\[0\] "s0" are the same IMAP server, imap\.example\.com:993/);
  });

  test('the same host on another port is another server', () => {
    assert.deepEqual(problems(`${SERVER}${SERVER.replace('servers:\n', '').replace('name: imap1', 'name: imap2').replace('port: 1143', 'port: 1144')}`), []);
  });
});

describe('passwords', () => {
  test('a world-readable password file is refused, naming the config line and the fix', () => {
    const pw = write('imap1.password', 's3cret-pw\n', 0o644);
    const text = SERVER.replace('passwordEnv: IMAP1_PASSWORD', `passwordFile: ${pw}`);
    const [msg] = problems(text, { secrets: true });
    assert.equal(msg, `c.yaml:7: servers[0].passwordFile: password file ${pw} is readable by group or others (mode 0644); run: chmod 600 ${pw}`);
    assert.doesNotMatch(msg!, /s3cret-pw/);
  });

  test('a group-readable one too', () => {
    const pw = write('g.password', 'pw', 0o640);
    assert.match(problems(SERVER.replace('passwordEnv: IMAP1_PASSWORD', `passwordFile: ${pw}`), { secrets: true })[0]!, /chmod 600/);
  });

  test('a 0600 password file is read, without its newline, and never shows when printed', () => {
    const pw = write('ok.password', 's3cret-pw\n');
    const c = parseConfig(SERVER.replace('passwordEnv: IMAP1_PASSWORD', 'passwordFile: ok.password'), join(dir, 'c2.yaml'), { secrets: true });
    const secret = c.servers[0]!.password!;
    assert.equal(secret.reveal(), 's3cret-pw');
    assert.equal(c.servers[0]!.passwordFile, pw);
    for (const shown of [JSON.stringify(c), inspect(c, { depth: 10 }), String(secret), `${secret}`]) {
      assert.doesNotMatch(shown, /s3cret-pw/);
    }
  });

  test('passwordEnv reads the environment, and an unset variable is an error at its line', () => {
    const c = parseConfig(SERVER, join(dir, 'c3.yaml'), { secrets: true, env: { IMAP1_PASSWORD: 'from-env' } });
    assert.equal(c.servers[0]!.password!.reveal(), 'from-env');
    assert.throws(() => parseConfig(SERVER, join(dir, 'c3.yaml'), { secrets: true, env: {} }), /c3\.yaml:7: servers\[0\]\.passwordEnv: the environment variable named on this line is not set/);
    assert.throws(() => parseConfig(SERVER, join(dir, 'c3.yaml'), { secrets: true, env: { IMAP1_PASSWORD: '' } }), /c3\.yaml:7: servers\[0\]\.passwordEnv: environment variable IMAP1_PASSWORD is empty/);
  });

  test('exactly one password source', () => {
    assert.match(problems(SERVER.replace('    passwordEnv: IMAP1_PASSWORD\n', ''))[0]!, /servers\[0\]\.passwordFile: give exactly one of passwordFile or passwordEnv/);
  });
});

describe('a password written where a path, a variable name or a key belongs is never repeated in an error', () => {
  const PASSWORD = 'Hunter2-s3cret';
  const withPassword = (line: string) => SERVER.replace('    passwordEnv: IMAP1_PASSWORD\n', line);
  const cases: Array<[what: string, yaml: string, expected: RegExp]> = [
    ['as the value of passwordFile', withPassword(`    passwordFile: ${PASSWORD}\n`), /^c\.yaml:7: servers\[0\]\.passwordFile: cannot read the password file: ENOENT \(the path is not repeated, as it may be the password itself written in the wrong place\); check the path on this line$/],
    ['as the value of passwordEnv', withPassword(`    passwordEnv: ${PASSWORD.replace('-', '_')}\n`), /^c\.yaml:7: servers\[0\]\.passwordEnv: the environment variable named on this line is not set \(the name is not repeated/],
    ['as the value of http.tokenFile', `http:\n  listen: 9465\n  tokenFile: ${PASSWORD}\n`, /^c\.yaml:3: http\.tokenFile: cannot read the token file: ENOENT \(the path is not repeated, as it may be the token itself/],
    ['as a key', `${SERVER}    ${PASSWORD}:\n`, /^c\.yaml:8: servers\[0\]: unknown key, not named here as it resembles no allowed key \(it may be a password typed in the wrong place\); allowed here: name, host/],
    ['as a key with a value', `${SERVER}    ${PASSWORD}: yes\n`, /^c\.yaml:8: servers\[0\]: unknown key, not named/],
    ['as a top-level key', `${PASSWORD}:\n${SERVER}`, /^c\.yaml:1: unknown key, not named here .*; allowed here: backupd, state/],
    ['as the value of an unknown key', `${SERVER}    pasword: ${PASSWORD}\n`, /^c\.yaml:8: servers\[0\]\.pasword: unknown key; allowed here/],
    ['as a YAML alias', withPassword(`    passwordFile: *${PASSWORD}\n`), /^c\.yaml:7: YAML: Unresolved alias \(the anchor must be set before the alias\)$/],
    ['as a YAML tag', withPassword(`    passwordFile: !${PASSWORD}\n`), /^c\.yaml:7: YAML: Unresolved tag$/],
    ['as a YAML core tag', withPassword(`    passwordFile: !!${PASSWORD}\n`), /^c\.yaml:7: YAML: Unresolved tag$/],
    ['as a YAML tag on a list', withPassword(`    passwordFile: !!${PASSWORD} [a]\n`), /^c\.yaml:7: YAML: /],
    ['in a double-quoted string with a backslash', withPassword(`    passwordFile: "Hunter2\\s3cret"\n`), /^c\.yaml:7: YAML: Invalid escape sequence in a double-quoted string$/],
  ];
  for (const [what, yaml, expected] of cases) {
    test(what, () => {
      const found = problems(yaml, { secrets: true, env: {} });
      assert.ok(found.length > 0, 'refused');
      for (const message of found) assert.doesNotMatch(message, /Hunter2|s3cret/i);
      assert.match(found[0]!, expected);
    });
  }

  test('nor in the password error a lenient load (report) keeps for later', () => {
    const c = parseConfig(withPassword(`    passwordFile: ${PASSWORD}\n`), join(dir, 'c4.yaml'), { secrets: 'lenient' });
    assert.match(c.servers[0]!.passwordError!, /passwordFile: cannot read the password file: ENOENT/);
    assert.doesNotMatch(c.servers[0]!.passwordError!, /Hunter2/);
  });

  test('a key close to an allowed one is still named, as a typo', () => {
    for (const key of ['password', 'pass', 'pasword', 'maxConcurent', 'Channel', 'tlsCAfile', 'usr']) {
      assert.match(problems(`${SERVER}    ${key}: x\n`)[0]!, new RegExp(`^c\\.yaml:8: servers\\[0\\]\\.${key}: unknown key; allowed here`), key);
    }
  });

  test('a password file that exists is named, with its fix', () => {
    const pw = write('named.password', 'pw\n', 0o644);
    assert.match(problems(withPassword(`    passwordFile: ${pw}\n`), { secrets: true })[0]!, new RegExp(`password file ${pw} is readable by group or others`));
  });
});

describe('password and token files: one final newline is dropped, other whitespace refused', () => {
  const serverWith = (file: string) => SERVER.replace('passwordEnv: IMAP1_PASSWORD', `passwordFile: ${file}`);
  const tokenConfig = (file: string) => `http:\n  listen: 9465\n  tokenFile: ${file}\n`;
  const load = (text: string) => parseConfig(text, join(dir, 'ws.yaml'), { secrets: true });

  test('as written by echo, printf or an editor: with one \\n, one \\r\\n, or none', () => {
    for (const [name, content] of [['lf', 's3cret\n'], ['crlf', 's3cret\r\n'], ['none', 's3cret']]) {
      const file = write(`ok-${name}`, content);
      assert.equal(load(serverWith(file)).servers[0]!.password!.reveal(), 's3cret', name);
      assert.equal(load(tokenConfig(file)).http.token!.reveal(), 's3cret', name);
    }
  });

  const refused: Array<[what: string, content: string, problem: RegExp]> = [
    ['a trailing space', 's3cret \n', /has a space or tab at the start or end of its (password|token); keep the (password|token) alone on one line, with at most one newline after it$/],
    ['a trailing tab, no newline', 's3cret\t', /has a space or tab at the start or end/],
    ['a leading space', ' s3cret\n', /has a space or tab at the start or end/],
    ['a blank line after it', 's3cret\n\n', /has a line break besides the one after its (password|token) \(a blank line, or a second line\)/],
    ['a blank line after it, CRLF', 's3cret\r\n\r\n', /has a line break besides/],
    ['a blank line before it', '\ns3cret\n', /has a line break besides/],
    ['a second line', 's3cret\nother\n', /has a line break besides/],
    ['a lone CR at the end', 's3cret\r', /has a line break besides/],
  ];
  for (const [what, content, problem] of refused) {
    test(`${what} is refused, naming the file and the fix`, () => {
      const file = write(`bad-${what.replace(/\W+/g, '-')}`, content);
      assert.throws(() => load(serverWith(file)), (err: unknown) => err instanceof ConfigError && err.message.includes(`servers[0].passwordFile: password file ${file} `) && problem.test(err.message), what);
      assert.throws(() => load(tokenConfig(file)), (err: unknown) => err instanceof ConfigError && err.message.includes(`http.tokenFile: token file ${file} `) && problem.test(err.message), what);
    });
  }

  test('a space inside: a password may hold one, a token cannot (no Bearer header carries it)', () => {
    const file = write('inner-space', 'correct horse\n');
    assert.equal(load(serverWith(file)).servers[0]!.password!.reveal(), 'correct horse');
    assert.throws(() => load(tokenConfig(file)), /http\.tokenFile: token file .*inner-space has a space or tab inside its token, which an Authorization: Bearer header cannot carry/);
  });
});
