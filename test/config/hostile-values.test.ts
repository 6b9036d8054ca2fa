// Config values that try to escape their field: control characters in userid patterns, channels
// and hosts that could never work, paths with `..` or NUL. Each is refused (or accepted) at load
// time, with a message naming file, line and key and never echoing a raw control character.
// Cases already in load.test.ts (a quote or CR LF in a pattern, an uppercase channel) are not repeated.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, ConfigErrors } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-config-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'c.yaml');

/** A loopback server; `extra` lines are added to it (at line 8 on). */
const server = (extra: string, host = '127.0.0.1') =>
  `servers:\n  - name: imap1\n    host: ${host}\n    port: 1143\n    tls: none\n    user: admin\n    passwordEnv: IMAP1_PASSWORD\n${extra}`;

function problems(text: string): string[] {
  writeFileSync(file, text);
  try {
    loadConfig(file);
  } catch (err) {
    const errors = err instanceof ConfigErrors ? err.errors : err instanceof ConfigError ? [err] : assert.fail(err as Error);
    return errors.map((e) => {
      assert.doesNotMatch(e.message, /[\p{Cc}\u2028\u2029]/u, 'no raw control characters in messages');
      return e.message.replace(`${file}:`, 'c.yaml:');
    });
  }
  return [];
}

describe('a userid pattern with a control character is refused at its line', () => {
  for (const [what, yaml] of [
    ['a lone CR', 'a\\rb'],
    ['a lone LF', 'a\\nb'],
    ['NUL', 'a\\0b'],
    ['TAB', 'a\\tb'],
    ['DEL', 'a\\x7fb'],
    ['ESC (a terminal escape)', '\\e[31ma'],
    ['a C1 control (CSI)', 'a\\x9bb'],
    ['a Unicode line separator', 'a\\u2028b'],
  ] as const) {
    test(what, () => {
      assert.deepEqual(problems(server(`    users: ["ok*", "${yaml}"]\n`)), [
        'c.yaml:8: servers[0].users[1]: expected a userid pattern without quotes, backslashes or control characters',
      ]);
    });
  }

  test('a raw TAB in a block list item is refused too', () => {
    assert.match(problems(server('    users:\n      - "a\tb"\n'))[0]!, /^c\.yaml:9: servers\[0\]\.users\[0\]: expected a userid pattern without quotes, backslashes or control characters/);
  });

  test('non-ASCII userids and patterns are accepted', () => {
    assert.deepEqual(problems(server('    users: ["josé", "*@例子.中国", "%"]\n')), []);
  });

  test('userids and patterns with spaces are accepted (Cyrus allows them); quotes are not', () => {
    assert.deepEqual(problems(server('    users: ["a b", "anne smith*"]\n')), []);
    assert.deepEqual(problems(server('    users: ["a\\"b"]\n')), ['c.yaml:8: servers[0].users[0]: expected a userid pattern without quotes, backslashes or control characters']);
  });
});

describe('a channel that Cyrus could never find is refused at its line', () => {
  for (const channel of ['back up', ' backup', 'backup ', 'back\\tup', 'Back Up', 'backup\\n', 'bäckup', 'back-up']) {
    test(JSON.stringify(channel), () => {
      assert.deepEqual(problems(server(`    channel: "${channel}"\n`)), [
        'c.yaml:8: servers[0].channel: expected a lowercase channel name of a-z, 0-9 and _ (Cyrus lowercases config keys, so no other channel name can match)',
      ]);
    });
  }
});

describe('a server host', () => {
  for (const host of ['"imap1 .example.com"', '" imap1.example.com"', '"imap1.example.com "', '"imap1\\n.example.com"', 'imaps://imap1.example.com', 'imap1.example.com:993', '"imap1\\0"', '""']) {
    test(`${host} is refused at its line`, () => {
      assert.deepEqual(problems(server('', host)), [
        'c.yaml:3: servers[0].host: expected a host name or IP address, without spaces, control characters, scheme or :port (the port goes in port:)',
      ]);
    });
  }

  for (const host of ['imap1.example.com', 'IMAP1', 'localhost', '192.0.2.7', '2001:db8::7', '"[::1]"', 'münchen.example', 'imap_1.internal']) {
    test(`${host} is accepted`, () => {
      const remote = !['localhost', '"[::1]"'].includes(host);
      assert.deepEqual(problems(server(remote ? '    allowInsecure: true\n' : '', host)), []);
    });
  }

  test('a refused host is not echoed into the clear-text warning', () => {
    const found = problems(server('', '"evil\\e[2J.example.com"'));
    assert.equal(found.length, 1, 'only the host error: the tls check never sees the bad host');
  });
});

describe('paths with `..` are accepted and resolved against the config file', () => {
  test('state, backupd.imapdConf and backupd.backupsDb', () => {
    writeFileSync(file, 'state: ../state/../xbs/state.db\nbackupd:\n  imapdConf: /etc/cyrus/../cyrus/backup.conf\n  backupsDb: ./a/../b/backups.db\n');
    const config = loadConfig(file);
    assert.equal(config.state, join(dirname(dir), 'xbs/state.db'));
    assert.equal(config.backupd.imapdConf, '/etc/cyrus/backup.conf');
    assert.equal(config.backupd.backupsDb, join(dir, 'b/backups.db'));
  });

  test('a passwordFile and tlsCaFile too', () => {
    writeFileSync(file, server('    tlsCaFile: ../ca.pem\n').replace('passwordEnv: IMAP1_PASSWORD', 'passwordFile: ../secrets/../imap1.password'));
    const [s] = loadConfig(file).servers;
    assert.equal(s!.passwordFile, join(dirname(dir), 'imap1.password'));
    assert.equal(s!.tlsCaFile, join(dirname(dir), 'ca.pem'));
  });

  test('a NUL in a path is refused at its line (every file call would throw on it later)', () => {
    assert.deepEqual(problems('state: "/var/lib/xbs\\0/state.db"\n'), ['c.yaml:1: state: a file path cannot contain a NUL character']);
  });
});
