import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildSkiplist } from '../backupd/cyrusdb/helpers/skiplist-builder.js';
import { runCliInProcess } from '../support/run-cli.js';
import { writeSyntheticBackup } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-report-skiplist-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a skiplist backups.db that lost its last transactions is UNKNOWN to report, not a shorter list of users', async () => {
  const files = ['anne', 'bob'].map((u) => join(dir, 'data', u[0]!, `${u}_X`));
  files.forEach((f) => writeSyntheticBackup(f, { chunkEnds: [1_795_000_000] }));
  writeFileSync(join(dir, 'imapd.conf'), `configdirectory: ${dir}\nbackuppartition-default: ${join(dir, 'data')}\nbackup_db: skiplist\n`);
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `backupd:\n  imapdConf: ${join(dir, 'imapd.conf')}\nstate: ${join(dir, 'state.db')}\n`);
  const db = buildSkiplist({ log: [{ set: 'anne', value: files[0]! }, 'commit', { set: 'bob', value: files[1]! }, 'commit'] });

  writeFileSync(join(dir, 'backups.db'), db.bytes);
  const whole = await runCliInProcess(['report', '--json', '--no-discovery', '-c', config]);
  assert.equal(whole.code, 0, whole.stderr);
  assert.deepEqual((JSON.parse(whole.stdout) as { users: { userid: string }[] }).users.map((u) => u.userid).sort(), ['anne', 'bob']);

  // Cut right after anne's transaction: bob's is gone, but the file still links his record.
  writeFileSync(join(dir, 'backups.db'), db.bytes.subarray(0, db.records[1]!.offset + 4));
  const cut = await runCliInProcess(['report', '--format', 'nagios', '--no-discovery', '-c', config]);
  assert.equal(cut.code, 3, cut.stdout + cut.stderr);
  assert.match(cut.stdout, /^XBACKUP UNKNOWN - .*backups\.db: .*BAD_POINTER/);
  const table = await runCliInProcess(['report', '--no-discovery', '-c', config]);
  assert.notEqual(table.code, 0);
  assert.match(table.stderr, /cannot read backups\.db: .*backups\.db: level-0 .*byte offset \d+/);
});
