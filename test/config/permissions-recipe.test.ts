// The permissions the README documents are the ones the least-privilege test runs with: its setpriv line
// (for commands by hand and for Nagios) is the test's, word for word, and the systemd unit gives `run` the
// same user and the one capability, and is a unit systemd accepts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../support/paths.js';
import { asScheduler } from '../support/system-user.js';

const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const UNIT_FILE = join(repoRoot, 'config/xbackup-scheduler.service');
const UNIT = readFileSync(UNIT_FILE, 'utf8');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

/** The test's prefix for the README's user, without setpriv's own path. */
const FLAGS = asScheduler('xbackup').slice(1).join(' ');

function directives(unit: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) found.set(match[1]!, [...(found.get(match[1]!) ?? []), match[2]!]);
  }
  return found;
}

describe('the documented permissions are the tested ones', () => {
  test("README's setpriv alias for commands run by hand is the test's prefix", () => {
    assert.ok(README.includes(`alias xbs='setpriv ${FLAGS} xbackup-scheduler'`), `README must carry: alias xbs='setpriv ${FLAGS} xbackup-scheduler'`);
  });

  test("README's Nagios command runs report through the same prefix", () => {
    assert.ok(README.includes(`/usr/bin/sudo /usr/bin/setpriv ${FLAGS} /usr/bin/xbackup-scheduler report --format nagios`), README);
  });

  test('the systemd unit: the user, no Cyrus group, CAP_DAC_READ_SEARCH alone, no new privileges', () => {
    const d = directives(UNIT);
    assert.deepEqual(d.get('User'), ['xbackup']);
    assert.deepEqual(d.get('Group'), ['xbackup']);
    assert.equal(d.get('SupplementaryGroups'), undefined, 'no Cyrus group: group read does not last');
    assert.deepEqual(d.get('AmbientCapabilities'), ['CAP_DAC_READ_SEARCH']);
    assert.deepEqual(d.get('CapabilityBoundingSet'), ['CAP_DAC_READ_SEARCH']);
    assert.deepEqual(d.get('NoNewPrivileges'), ['yes']);
    assert.deepEqual(d.get('ProtectSystem'), ['strict']);
    assert.deepEqual(d.get('SystemCallFilter'), ['~open_by_handle_at']);
  });

  test('systemd-analyze verify accepts the unit', { skip: existsSync(SYSTEMD_ANALYZE) ? false : `${SYSTEMD_ANALYZE} is absent (Debian package systemd)` }, () => {
    const result = spawnSync(SYSTEMD_ANALYZE, ['verify', UNIT_FILE], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr.trim(), '', 'no warning either');
  });
});
