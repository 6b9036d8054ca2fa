// bootstrap.compactAfter's compaction against a fake ctl_backups: what it logs of each backup's outcome.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { compactBackups } from '../../src/scheduler/compact-backups.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-compact-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fake ctl_backups answering `ok` for each userid, after Cyrus's read error for `unread` (as 3.6 prints it, on stdout). */
function fakeCtl(unread: string): string {
  const file = join(dir, 'ctl_backups');
  writeFileSync(
    file,
    `#!/bin/sh
while [ "$1" != "--" ]; do shift; done; shift; shift
for u in "$@"; do
  [ "$u" = "${unread}" ] && echo 'error reading chunk at offset 6989, byte 0: Input/output error'
  printf '{\\n  "command": "compact",\\n  "userid": "%s",\\n  "fname": "/d/%s",\\n  "status": "ok"\\n}\\n' "$u" "$u"
done
`,
  );
  chmodSync(file, 0o755);
  return file;
}

describe('compactBackups', () => {
  test("an ok after Cyrus's read error is no success: compaction dropped what it could not read", async () => {
    const logged: Array<{ msg: string; failed?: string[]; compacted?: number }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    await compactBackups({ prefix: [], ctlBackups: fakeCtl('bob'), imapdConf: '/etc/backupd.conf', timeoutMs: 60_000 }, ['anne', 'bob'], logger);
    const failure = logged.find((l) => l.msg === 'ctl_backups compact failed');
    assert.deepEqual(failure?.failed, ['bob: ok (error reading chunk at offset 6989, byte 0: Input/output error)'], JSON.stringify(logged));
  });
});
