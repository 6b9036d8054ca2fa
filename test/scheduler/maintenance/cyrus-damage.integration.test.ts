// The Cyrus facts the maintenance lane stands on (docs/cyrus-facts-maintenance.md), against real Cyrus:
// a damaged backup verifies `failed` and backupd refuses its XBACKUPs; a fresh backup to a new data file
// clears it; a user with 60 chunks loses the empty ones to compact, and the newest chunk's end moves back;
// a held lock makes XBACKUP, compact and verify say `locked`.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, test } from 'node:test';
import { runCyrusTool } from '../../../src/scheduler/maintenance/cyrus-tool.js';
import {
  bedCyrusTool,
  chunkRows,
  damageLastChunk,
  dataFileOf,
  giveChunks,
  holdBackupLock,
  replaceWithFreshBackup,
} from '../../support/backup-maintenance.js';
import { useBed } from '../../support/use-bed.js';

describe('damage, its cure, and compaction of many chunks, against real Cyrus', () => {
  const { bed } = useBed({
    scratch: 'xbs-damage-',
    async setup() {
      for (const userid of ['anne', 'bob', 'carl']) {
        await bed.createUser(userid, { messages: 3 });
        assert.equal((await bed.xbackup(bed.mailboxName(userid))).status, 'OK');
      }
    },
  });

  test('damaged: verify failed and XBACKUP refused; a fresh backup to a new data file: verify ok', async () => {
    const file = await damageLastChunk(bed, 'anne');
    const damaged = await runCyrusTool(bedCyrusTool(bed), 'verify', ['anne']);
    assert.deepEqual(damaged.outcomes.map((o) => o.status), ['failed'], damaged.stderr);
    const refused = await bed.xbackup(bed.mailboxName('anne'));
    assert.equal(refused.status, 'NO');
    assert.deepEqual(refused.untagged, ['* NO USER anne (The remote Server(s) denied the operation)']);
    assert.equal(chunkRows(file).length, 1, 'backupd appended nothing to the damaged backup');

    const { previous, fresh, aside } = await replaceWithFreshBackup(bed, 'anne');
    assert.equal(previous, file);
    assert.equal(dirname(fresh), dirname(previous));
    assert.match(fresh, /\/anne_[A-Za-z0-9]{6}$/);
    assert.ok(existsSync(aside) && !existsSync(previous));
    const cured = await runCyrusTool(bedCyrusTool(bed), 'verify', ['anne']);
    assert.deepEqual(cured.outcomes.map((o) => [o.status, o.dataFile]), [['ok', fresh]], cured.stderr);
  });

  test('60 chunks of nothing new: compact leaves fewer, and the newest chunk ends earlier than before', async () => {
    await giveChunks(bed, 'bob', 60);
    const file = await dataFileOf(bed, 'bob');
    const before = chunkRows(file);
    assert.equal(before.length, 61);
    const compacted = await runCyrusTool(bedCyrusTool(bed), 'compact', ['bob']);
    assert.deepEqual(compacted.outcomes.map((o) => o.status), ['ok'], compacted.stderr);
    const after = chunkRows(file);
    assert.ok(after.length < before.length, `${before.length} → ${after.length} chunks`);
    // The empty chunks were the newest: what the scheduler shows as the last backup moves back to the first.
    assert.equal(after.at(-1)!.tsEnd, before[0]!.tsEnd);
    assert.ok(after.at(-1)!.tsEnd <= before.at(-1)!.tsEnd);
    const verified = await runCyrusTool(bedCyrusTool(bed), 'verify', ['bob']);
    assert.deepEqual(verified.outcomes.map((o) => o.status), ['ok']);
  });

  test('a held lock: XBACKUP answers NO (Mailbox is locked), compact and verify say locked; released, all is well', async () => {
    const lock = await holdBackupLock(bed, 'carl');
    try {
      const xbackup = await bed.xbackup(bed.mailboxName('carl'));
      assert.equal(xbackup.status, 'NO');
      assert.deepEqual(xbackup.untagged, ['* NO USER carl (Mailbox is locked)']);
      const compact = await runCyrusTool(bedCyrusTool(bed), 'compact', ['carl']);
      const verify = await runCyrusTool(bedCyrusTool(bed), 'verify', ['carl']);
      assert.deepEqual([...compact.outcomes, ...verify.outcomes].map((o) => o.status), ['locked', 'locked']);
    } finally {
      await lock.release();
    }
    assert.equal((await bed.xbackup(bed.mailboxName('carl'))).status, 'OK');
    const verify = await runCyrusTool(bedCyrusTool(bed), 'verify', ['carl']);
    assert.deepEqual(verify.outcomes.map((o) => o.status), ['ok']);
  });
});
