import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { describe, test } from 'node:test';
import pino from 'pino';
import { compactBackups } from '../../src/scheduler/compact-backups.js';
import { parseCtlBackupsJsonList } from '../support/ctl-backups-list.js';
import { useBed } from '../support/use-bed.js';

const CTL_BACKUPS = '/usr/lib/cyrus/bin/ctl_backups';

describe('ctl_backups compact (bootstrap.compactAfter) never takes a userid for an option', () => {
  const { bed } = useBed({
    async setup() {
      for (const userid of ['anne', 'bob']) {
        await bed.createUser(userid, { messages: 3 });
        // The first backup and two that change nothing: two empty chunks that compaction can drop.
        for (let i = 0; i < 3; i++) assert.equal((await bed.xbackup(`user.${userid}`)).status, 'OK');
      }
    },
  });

  /** Each user's data file size: compaction rewrites the file smaller, dropping the empty chunks of the backups since the first. */
  const dataFileSizes = async () =>
    new Map(parseCtlBackupsJsonList((await bed.ctlBackups(['-j', 'list'])).stdout).map((e) => [e.userid, statSync(e.fname).size]));

  /** Runs compactBackups as the scheduler does (here as root), and returns what it logged. */
  const compact = async (userids: string[]) => {
    const logged: Array<{ msg: string; error?: string; compacted?: number }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    await compactBackups({ prefix: [], ctlBackups: CTL_BACKUPS, imapdConf: bed.backup.confPath, timeoutMs: 600_000 }, userids, logger);
    return logged;
  };

  for (const userid of ['-A', '-u', '--help']) {
    test(`a userid ${userid} reaches ctl_backups as a userid (not in backups.db), and no backup is compacted`, async () => {
      const before = await dataFileSizes();
      const logged = await compact([userid]);
      assert.deepEqual(await dataFileSizes(), before, 'no data file was rewritten');
      const failure = logged.find((l) => l.msg === 'ctl_backups compact failed');
      assert.ok(failure?.error?.includes(`${userid}: not found in backups.db`), JSON.stringify(logged));
    });
  }

  test('a real userid is compacted, and only it', async () => {
    const before = await dataFileSizes();
    const logged = await compact(['anne']);
    const afterwards = await dataFileSizes();
    assert.ok(afterwards.get('anne')! < before.get('anne')!, `anne: ${before.get('anne')} → ${afterwards.get('anne')} bytes`);
    assert.equal(afterwards.get('bob'), before.get('bob'));
    assert.deepEqual(logged.map((l) => [l.msg, l.compacted]), [["compacted the group's backups", 1]]);
  });
});
