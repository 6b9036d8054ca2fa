import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { sudoersRule, sudoRunAs } from '../../src/scheduler/maintenance/sudoers-rule.js';
import { configProblems } from '../support/config-problems.js';

const problems = configProblems;

describe('config: maintenance.command and maintenance.timeout', () => {
  test('off by default: no command, a 1h deadline', () => {
    const m = parseConfig('', '/etc/x/c.yaml').maintenance;
    assert.equal(m.command, undefined);
    assert.equal(m.timeout, 3_600_000);
  });

  test('a list of words with an absolute program, or [] (the scheduler is cyrus itself)', () => {
    assert.deepEqual(parseConfig('maintenance:\n  command: [/usr/bin/sudo, -n, -u, cyrus, --]\n', '/etc/x/c.yaml').maintenance.command, ['/usr/bin/sudo', '-n', '-u', 'cyrus', '--']);
    const m = parseConfig('maintenance:\n  command: []\n  timeout: 30m\n', '/etc/x/c.yaml').maintenance;
    assert.deepEqual([m.command, m.timeout], [[], 1_800_000]);
  });

  for (const [given, expected] of [
    ['"sudo -u cyrus"', /a list of words.*a single string is refused: it would need a shell/],
    ['[sudo, -u, cyrus]', /absolute path/],
    ['["/usr/bin/sudo -u cyrus"]', /without spaces/],
    ['[/bin/sh, -c]', /shell code/],
    ['[/usr/bin/bash]', /shell code/],
    ['[/usr/bin/sudo, ""]', /non-empty word/],
  ] as const) {
    test(`refused where it is read: command ${given}`, () => {
      const found = problems(`maintenance:\n  command: ${given}\n`);
      assert.ok(found.some((p) => expected.test(p)), found.join('\n'));
    });
  }

  test('a timeout below the least that works is refused with the reason', () => {
    const found = problems('maintenance:\n  command: []\n  timeout: 2s\n');
    assert.ok(found.some((p) => /2s is below the least ctl_backups run timeout that can work, 10s/.test(p)), found.join('\n'));
  });
});

describe('the sudoers rule check prints', () => {
  test('pins the program, the config and `--` before each verb; escapes sudoers\' special characters', () => {
    assert.equal(
      sudoersRule('xbackup', 'cyrus', '/usr/lib/cyrus/bin/ctl_backups', '/etc/cyrus/backup d,1.conf'),
      'xbackup ALL=(cyrus) NOPASSWD: /usr/lib/cyrus/bin/ctl_backups -C /etc/cyrus/backup\\ d\\,1.conf -j -- compact *, /usr/lib/cyrus/bin/ctl_backups -C /etc/cyrus/backup\\ d\\,1.conf -j -- verify *, /usr/lib/cyrus/bin/ctl_backups -C /etc/cyrus/backup\\ d\\,1.conf -j -- stat *',
    );
  });

  test("the run-as user is the prefix's -u, root without one", () => {
    assert.equal(sudoRunAs(['/usr/bin/sudo', '-n', '-u', 'cyrus', '--']), 'cyrus');
    assert.equal(sudoRunAs(['/usr/bin/sudo', '--user=cyrus']), 'cyrus');
    assert.equal(sudoRunAs(['/usr/bin/sudo', '-n', '--', '-u']), 'root');
  });
});
