// ctl_backups' per-backup output, as Debian 12's Cyrus 3.6.1 printed it on the test bed (docs/cyrus-facts-maintenance.md).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCtlBackupsRun } from '../../../src/scheduler/maintenance/ctl-backups-output.js';

const object = (command: string, userid: string, status: string) =>
  `{\n  "command": "${command}",\n  "userid": "${userid}",\n  "fname": "/srv/backup/data/${userid[0]}/${userid}_jgSfvM",\n  "status": "${status}"\n}\n`;

describe("ctl_backups -j compact|verify: each backup's outcome", () => {
  test('ok, skipped, locked, and a failure with Cyrus\'s error text', () => {
    const stdout = object('compact', 'anne', 'ok') + object('compact', 'bob', 'skipped') + object('compact', 'carl', 'locked') + object('compact', 'dora', 'failed (Unknown code ____ 255)');
    const { outcomes, stray } = parseCtlBackupsRun('compact', ['anne', 'bob', 'carl', 'dora'], stdout, '');
    assert.deepEqual(
      outcomes.map((o) => [o.userid, o.status, o.detail]),
      [['anne', 'ok', undefined], ['bob', 'skipped', undefined], ['carl', 'locked', undefined], ['dora', 'failed', 'Unknown code ____ 255']],
    );
    assert.equal(outcomes[0]!.dataFile, '/srv/backup/data/a/anne_jgSfvM');
    assert.deepEqual(stray, []);
  });

  test('a userid with no backup is named on stderr only; one that was never answered is no-answer', () => {
    const { outcomes } = parseCtlBackupsRun('verify', ['anne', 'nobody', '-A'], object('verify', 'anne', 'ok'), 'nobody: not found in backups.db\n');
    assert.deepEqual(outcomes.map((o) => o.status), ['ok', 'not-found', 'no-answer']);
  });

  test("Cyrus's reason for a failed verify (stderr, without a userid) goes to the backup of a one-backup run", () => {
    const stderr = 'data length mismatch for chunk 1: 0 on disk,7504 in index\n';
    const one = parseCtlBackupsRun('verify', ['bob'], object('verify', 'bob', 'failed (Unknown code ____ 255)'), stderr);
    assert.equal(one.outcomes[0]!.detail, 'data length mismatch for chunk 1: 0 on disk,7504 in index; Unknown code ____ 255');
    const two = parseCtlBackupsRun('verify', ['anne', 'bob'], object('verify', 'anne', 'ok') + object('verify', 'bob', 'failed (Unknown code ____ 255)'), stderr);
    assert.equal(two.outcomes[1]!.detail, 'Unknown code ____ 255', 'with two backups, stderr cannot be put to either');
  });

  test("compact's account of what it could not read (stdout, before the object) goes to that backup, even when ok", () => {
    const stdout = object('compact', 'anne', 'ok') + 'error reading chunk at offset 6989, byte 0: Input/output error\n' + object('compact', 'bob', 'ok');
    const { outcomes, stray } = parseCtlBackupsRun('compact', ['anne', 'bob'], stdout, '');
    assert.deepEqual(
      outcomes.map((o) => [o.userid, o.status, o.detail]),
      [['anne', 'ok', undefined], ['bob', 'ok', 'error reading chunk at offset 6989, byte 0: Input/output error']],
    );
    assert.deepEqual(stray, []);
  });

  test('objects about backups not asked for, of another verb, repeated, or broken are stray, never an outcome', () => {
    const stdout = object('verify', 'anne', 'ok') + object('compact', 'anne', 'failed (x)') + object('verify', 'anne', 'failed (y)') + object('verify', 'eve', 'ok') + '{\n  "userid": \n}\nnoise\n';
    const { outcomes, stray } = parseCtlBackupsRun('verify', ['anne'], stdout, '');
    assert.deepEqual(outcomes.map((o) => o.status), ['ok']);
    assert.equal(stray.length, 5);
  });

  test('control characters in what Cyrus says are escaped', () => {
    const { outcomes } = parseCtlBackupsRun('verify', ['anne'], object('verify', 'anne', 'failed (bad\\u001b[31m)'), '');
    assert.ok(!outcomes[0]!.detail!.includes('\u001b'), outcomes[0]!.detail);
  });
});

describe('ctl_backups -j stat: the utilisation of each backup', () => {
  // As Cyrus 3.6.1's cmd_stat_one prints it (backup/ctl_backups.c): no command, no status.
  const stat = (userid: string, ratio: string) =>
    `{\n  "userid": "${userid}",\n  "fname": "/srv/backup/data/${userid[0]}/${userid}_jgSfvM",\n  "compressed": 4096,\n  "uncompressed": 20480,\n  "compactable": 7000,\n` +
    `  "compression_ratio": 20.0,\n  "utilisation_ratio": ${ratio},\n  "last_start_time": "2026-12-07 20:00:00",\n  "last_end_time": "2026-12-07 20:00:01"\n}\n`;

  test('its utilisation_ratio, a percentage; an error on stderr names the backup; anything else is not believed', () => {
    const { outcomes } = parseCtlBackupsRun('stat', ['anne', 'bob', 'carl', 'dora'], stat('anne', '34.1796875') + stat('bob', '1e999') + stat('carl', '-3'), 'dora: Unknown code ____ 255\n');
    assert.deepEqual(
      outcomes.map((o) => [o.userid, o.status, o.utilisation, o.detail]),
      [
        ['anne', 'ok', 34.1796875, undefined],
        ['bob', 'failed', undefined, 'utilisation_ratio is no percentage: null'],
        ['carl', 'failed', undefined, 'utilisation_ratio is no percentage: -3'],
        ['dora', 'failed', undefined, 'Unknown code ____ 255'],
      ],
    );
  });
});
