// The runner against real Cyrus: ctl_backups compact and verify run as the bed's cyrus user through a
// prefix, as maintenance.command would run them, and each backup's outcome read from what Cyrus printed;
// and `check` of a prefix that cannot run ctl_backups.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCyrusTool } from '../../../src/scheduler/maintenance/cyrus-tool.js';
import { bedCyrusTool, damageLastChunk } from '../../support/backup-maintenance.js';
import { writeBedConfig } from '../../support/bed-config.js';
import { parseCtlBackupsJsonList } from '../../support/ctl-backups-list.js';
import { runCliInProcess } from '../../support/run-cli.js';
import { useBed } from '../../support/use-bed.js';

describe('ctl_backups compact and verify through the prefix, against real Cyrus', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-maint-',
    async setup() {
      for (const userid of ['anne', 'bob']) {
        await bed.createUser(userid, { messages: 3 });
        // The first backup and two that change nothing: empty chunks that compaction drops.
        for (let i = 0; i < 3; i++) assert.equal((await bed.xbackup(`user.${userid}`)).status, 'OK');
      }
    },
  });

  const tool = () => bedCyrusTool(bed);
  const dataFiles = async () => new Map(parseCtlBackupsJsonList((await bed.ctlBackups(['-j', 'list'])).stdout).map((e) => [e.userid, e.fname]));

  test('compact: ok, the data file rewritten smaller and still the backups\' owner\'s; a second time skipped; no backup: not-found', async () => {
    const file = (await dataFiles()).get('anne')!;
    const before = statSync(file).size;
    const run = await runCyrusTool(tool(), 'compact', ['anne', 'ghost']);
    assert.equal(run.problem, undefined, run.stderr);
    assert.deepEqual(run.outcomes.map((o) => [o.userid, o.status]), [['anne', 'ok'], ['ghost', 'not-found']]);
    assert.equal(run.outcomes[0]!.dataFile, file);
    assert.ok(statSync(file).size < before, `anne: ${before} → ${statSync(file).size} bytes`);
    assert.equal(statSync(file).uid, bed.backupAccount.uid, 'written by ctl_backups as cyrus');
    const again = await runCyrusTool(tool(), 'compact', ['anne']);
    assert.deepEqual(again.outcomes.map((o) => o.status), ['skipped']);
  });

  test('verify: ok for sound backups; a damaged chunk is failed, with what Cyrus said', async () => {
    const sound = await runCyrusTool(tool(), 'verify', ['anne', 'bob']);
    assert.equal(sound.problem, undefined, sound.stderr);
    assert.deepEqual(sound.outcomes.map((o) => o.status), ['ok', 'ok']);
    // The gzip trailer of bob's last chunk, flipped in place: the damage Cyrus reports at once. Bytes flipped
    // inside a chunk's deflate data can make verify loop forever instead (docs/cyrus-facts-maintenance.md),
    // which the deadline is for.
    await damageLastChunk(bed, 'bob');
    const damaged = await runCyrusTool(tool(), 'verify', ['bob']);
    assert.equal(damaged.problem, undefined, damaged.stderr);
    assert.equal(damaged.outcomes[0]!.status, 'failed');
    // All Cyrus 3.6 says of this damage is `failed (Unknown code ____ 255)` (a code com_err has no text for);
    // for a one-chunk backup it also prints `data length mismatch for chunk 1: …` on stderr.
    assert.match(damaged.outcomes[0]!.detail ?? '', /Unknown code ____ 255|chunk \d+/, `stderr: ${damaged.stderr}`);
  });

  test('check: a prefix that cannot run ctl_backups on this server is a FAIL naming the command and what Cyrus said', async () => {
    const config = writeBedConfig(bed, join(work, 'nobody'), { extra: 'maintenance:\n  command: [/usr/sbin/runuser, -u, nobody, --]\n' });
    const result = await runCliInProcess(['check', '-c', config]);
    const line = result.stdout.split('\n').find((l) => l.includes('maintenance.command'));
    assert.match(line ?? result.stdout, /^FAIL .*runuser -u nobody -- \/usr\/lib\/cyrus\/bin\/ctl_backups -C \S+ -j -- verify \S+: .*exited \d+/);
    assert.equal(result.code, 1);
  });

  test('check: the bed\'s own prefix passes, verifying a backup the scheduler reads', async () => {
    const config = writeBedConfig(bed, join(work, 'cyrus'), { extra: `maintenance:\n  command: ${JSON.stringify(tool().prefix)}\n  compactBelowUtilisation: 50\n` });
    const result = await runCliInProcess(['check', '-c', config]);
    const line = result.stdout.split('\n').find((l) => l.includes('maintenance.command'));
    assert.match(line ?? result.stdout, /^PASS .*ctl_backups ran as the backups' owner and verified (anne|bob)'s backup/);
    // compactBelowUtilisation asks `stat` too, through the same prefix: Cyrus's utilisation_ratio, read as a percentage.
    const stat = result.stdout.split('\n').find((l) => l.includes('maintenance.compactBelowUtilisation'));
    assert.match(stat ?? result.stdout, /^PASS .* -j -- stat (anne|bob): (anne|bob)'s data file is \d+\.\d% in use/);
  });
});
