// The maintenance lane against real Cyrus: ctl_backups run as the bed's cyrus through maintenance.command.
// A backup with 60 chunks is compacted inside the window (fewer chunks, the same backup time in `report`),
// and not at all while the window is closed; every backup is deep-verified, and one damaged on purpose is
// reported `damaged` with Cyrus's reason (report, Nagios CRITICAL) until it is replaced by a fresh backup.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { writeBedConfig } from '../support/bed-config.js';
import { parseCtlBackupsJsonList } from '../support/ctl-backups-list.js';
import { indexCounts } from '../support/index-counts.js';
import { closedWindow, openWindow, TZ } from '../support/local-windows.js';
import { maintenancePrefix } from '../support/maintenance-prefix.js';
import { runCliProcess, type CliResult } from '../support/run-cli.js';
import { useBed } from '../support/use-bed.js';

const env = { TZ };

interface ReportUser {
  userid: string;
  state: string;
  age: number | null;
  chunks: number | null;
  error: string | null;
  lastDeepVerify?: string | null;
}

async function cli(args: string[]): Promise<CliResult> {
  return runCliProcess(args, { env, timeoutMs: 300_000 });
}

/** Each user's report entry, and when its backup counts from (generatedAt − age), in whole seconds. */
async function report(config: string): Promise<Map<string, ReportUser & { backedUpAt: number | null }>> {
  const r = await cli(['report', '--json', '-c', config]);
  assert.equal(r.code === 0 || r.code === 1, true, r.stderr);
  const body = JSON.parse(r.stdout) as { generatedAt: string; users: ReportUser[] };
  const at = Date.parse(body.generatedAt);
  return new Map(body.users.map((u) => [u.userid, { ...u, backedUpAt: u.age === null ? null : Math.round((at - u.age * 1000) / 1000) }]));
}

function maintenanceRuns(stateFile: string): Array<{ userid: string; verb: string; why: string; outcome: string | null; detail: string | null }> {
  const db = new Database(stateFile, { readonly: true });
  try {
    return db.prepare('SELECT userid, verb, why, outcome, detail FROM maintenance_run ORDER BY id').all() as Array<{ userid: string; verb: string; why: string; outcome: string | null; detail: string | null }>;
  } finally {
    db.close();
  }
}

describe('maintenance against real Cyrus: compaction by need, rolling deep verification, damaged', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-maintenance-',
    async setup() {
      for (const userid of ['hot', 'calm', 'rot']) {
        await bed.createUser(userid, { messages: 3 });
        assert.equal((await bed.xbackup(`user.${userid}`)).status, 'OK');
      }
      // 60 XBACKUPs more of the same user: each appends a chunk, changed or not (cyrus-facts.md).
      for (let i = 0; i < 60; i++) assert.equal((await bed.xbackup('user.hot')).status, 'OK');
    },
  });

  const config = (dir: string, window: string) =>
    writeBedConfig(bed, join(work, dir), {
      servers: [{ which: 'imap1', settings: { users: ['hot', 'calm', 'rot'] } }],
      // maxAge far off: no XBACKUP is due, so what changes the backups is maintenance alone.
      extra:
        'policy:\n  maxAge: 7d\n' +
        `maintenance:\n  command: ${JSON.stringify(maintenancePrefix(bed))}\n  window: "${window}"\n  compactChunks: 50\n  verifyEvery: 1d\n  timeout: 10m\n`,
    });

  test('a closed maintenance.window: run --once runs no ctl_backups at all; plan says when it opens and what waits', async () => {
    const file = config('closed', closedWindow().text);
    const chunksBefore = (await indexCounts(bed, 'chunk')).get('hot');
    const run = await cli(['run', '--once', '-c', file]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(maintenanceRuns(join(work, 'closed', 'state.db')), []);
    assert.equal((await indexCounts(bed, 'chunk')).get('hot'), chunksBefore);
    const plan = await cli(['plan', '-c', file]);
    assert.match(plan.stdout, /maintenance \(maintenance\.window \S+ closed, opens at /);
    assert.match(plan.stdout, /verify, then compact hot: 6\d chunks \(more than 50\)/);
  });

  test('inside the window: every backup deep-verified; hot, past compactChunks, verified then compacted, its backup time in report unchanged', async () => {
    const file = config('open', openWindow().text);
    const before = await report(file);
    const chunksBefore = (await indexCounts(bed, 'chunk')).get('hot')!;
    assert.ok(chunksBefore > 60, `hot has ${chunksBefore} chunks`);
    const run = await cli(['run', '--once', '-c', file]);
    assert.equal(run.code, 0, run.stderr);
    const runs = maintenanceRuns(join(work, 'open', 'state.db'));
    assert.deepEqual(
      runs.map((r) => `${r.verb} ${r.userid} ${r.outcome}`),
      ['verify hot ok', 'compact hot ok', 'verify calm ok', 'verify rot ok'],
      JSON.stringify(runs),
    );
    const chunksAfter = (await indexCounts(bed, 'chunk')).get('hot')!;
    assert.ok(chunksAfter < chunksBefore, `hot: ${chunksBefore} → ${chunksAfter} chunks`);
    const after = await report(file);
    assert.equal(after.get('hot')!.backedUpAt, before.get('hot')!.backedUpAt, 'compaction moved the backup time');
    for (const userid of ['hot', 'calm', 'rot']) {
      assert.equal(after.get(userid)!.state, 'fresh');
      assert.ok(after.get(userid)!.lastDeepVerify, `${userid} has a last deep verification`);
    }
    // Done for this opening: a second run --once finds nothing due.
    assert.equal((await cli(['run', '--once', '-c', file])).code, 0);
    assert.equal(maintenanceRuns(join(work, 'open', 'state.db')).length, runs.length);
  });

  test('a data file damaged on purpose: the next verification makes its user damaged with Cyrus\'s reason, Nagios CRITICAL; a fresh backup to a new file clears it', async () => {
    const file = config('damage', openWindow().text);
    const fname = parseCtlBackupsJsonList((await bed.ctlBackups(['-j', 'list'])).stdout).find((e) => e.userid === 'rot')!.fname;
    // The gzip trailer of its last chunk, flipped in place (the file stays cyrus's): damage Cyrus reports at once.
    const bytes = readFileSync(fname);
    bytes[bytes.length - 3]! ^= 0xff;
    writeFileSync(fname, bytes);
    assert.equal((await cli(['run', '--once', '-c', file])).code, 0);
    const rot = (await report(file)).get('rot')!;
    assert.equal(rot.state, 'damaged');
    assert.match(rot.error ?? '', /ctl_backups verify at .* found: .*(Unknown code ____ 255|chunk \d+)/);
    const nagios = await cli(['report', '--format', 'nagios', '-c', file]);
    assert.equal(nagios.code, 2, nagios.stdout);
    assert.match(nagios.stdout, /^XBACKUP CRITICAL.*rot/);
  });
});
