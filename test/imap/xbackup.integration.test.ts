import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BackupsDbReader } from '../../src/backupd/backups-listing.js';
import { Secret } from '../../src/config/secret.js';
import { AdminSession } from '../../src/imap/admin-session.js';
import { execCommand } from '../../src/imap/imapflow-exec.js';
import { ImapConnectionError } from '../../src/imap/imap-connection-error.js';
import { userOutcomes } from '../../src/imap/user-outcome.js';
import { runXbackup, type XbackupItem } from '../../src/imap/xbackup.js';
import { useridToMailbox } from '../../src/imap/mailbox-names.js';
import { runUserBackup } from '../../src/scheduler/run-user-backup.js';
import { bedServerConfig } from '../support/bed-config.js';
import { waitFor } from '../support/wait-for.js';
import { dataFileBytes } from '../faults/support/fault-checks.js';
import { useBed } from '../support/use-bed.js';

describe('XBACKUP on the wire, against real Cyrus', () => {
  let session: AdminSession;
  let backupsDb: BackupsDbReader;
  const { bed, work: scratch } = useBed({
    scratch: 'xbs-xbackup-',
    async setup() {
      for (const u of ['anne', 'annette', 'bob']) await bed.createUser(u, { messages: 2 });
      for (const u of ['s1', 's2', 's3', 's4']) await bed.createUser(u, { messages: 10, messageBytes: 100_000 });
      await bed.createUser('big2', { messages: 300, messageBytes: 100_000 });
      await bed.createUser('huge', { messages: 800, messageBytes: 100_000 });
      await bed.createUser('norm', { password: 'norm-pw' });
      for (const u of ['x y', 'x (y)', 'x y (z)', 'x#y', 'tr ']) await bed.createUser(u, { messages: 1 });
      session = await AdminSession.open(bedServerConfig(bed));
      backupsDb = new BackupsDbReader({ backupsDb: bed.backup.backupsDbPath, backupsDbFormat: 'twoskip' });
    },
    teardown: () => session?.close(),
  });

  test('the session reads the separator and the Cyrus version', () => {
    assert.equal(session.naming.separator, '.');
    assert.equal(session.version?.major, 3);
    assert.equal(`${session.version?.major}.${session.version?.minor}`, bed.releases.imap);
  });

  test('imapflow-exec carries a custom command with untagged handlers, and NO is a result, not an exception', async () => {
    const names: string[] = [];
    const options = { server: 'imap1', timeoutMs: 60_000, timeoutSetting: 'servers[].stepTimeout' };
    const ok = await execCommand(
      session.client,
      'LIST',
      [{ type: 'STRING', value: '' }, { type: 'STRING', value: 'user.ann*' }],
      { LIST: (u) => names.push(String((u.attributes[2] as { value: string }).value)) },
      options,
    );
    assert.equal(ok.status, 'OK');
    assert.match(ok.text, /^Completed/);
    assert.deepEqual(names.sort(), ['user.anne', 'user.annette']);
    const no = await execCommand(session.client, 'XBACKUP', [{ type: 'STRING', value: 'user.nosuch' }, { type: 'ATOM', value: 'backup' }], {}, options);
    assert.deepEqual(no, { status: 'NO', text: 'Mailbox does not exist' });
  });

  test('a pattern backs up every match, each judged by its own line, streamed as each user finishes', async () => {
    const seen: XbackupItem[] = [];
    const run = await runXbackup(session, 'user.s*', 'backup', { timeoutMs: 60_000, requested: ['s1', 's2', 's3', 's4'], onItem: (i) => seen.push(i) });
    assert.equal(run.failure, null);
    assert.deepEqual(run.tagged, { status: 'OK', text: 'Completed' });
    assert.deepEqual(seen.map((i) => [i.kind, i.text, i.ok]), [['user', 's1', true], ['user', 's2', true], ['user', 's3', true], ['user', 's4', true]]);
    assert.ok(seen[3]!.at > seen[0]!.at, 'lines arrive one by one, not all at the end');
    const outcomes = userOutcomes(run, ['s1', 's4', 'zed']);
    assert.deepEqual(outcomes.map((o) => o.outcome), ['ok', 'ok', 'error']);
    assert.match(outcomes[2]!.error!, /never reported this user/);
  });

  test('userids with spaces and parentheses: the quoted pattern names them, and each line is read for its own user', async () => {
    const exact = await runXbackup(session, useridToMailbox('x y', session.naming), 'backup', { timeoutMs: 60_000, requested: ['x y'] });
    assert.deepEqual([exact.pattern, exact.items.map((i) => i.text)], ['user.x y', ['x y']]);
    assert.deepEqual(userOutcomes(exact, ['x y']).map((o) => o.outcome), ['ok']);
    const run = await runXbackup(session, 'user.x*', 'backup', { timeoutMs: 60_000, requested: ['x y', 'x (y)', 'x y (z)', 'x#y', 'x'] });
    assert.deepEqual(run.items.map((i) => i.text).sort(), ['x (y)', 'x y', 'x y (z)', 'x#y']);
    const outcomes = userOutcomes(run, ['x y', 'x (y)', 'x y (z)', 'x#y', 'x']);
    assert.deepEqual(outcomes.map((o) => [o.userid, o.outcome]), [['x y', 'ok'], ['x (y)', 'ok'], ['x y (z)', 'ok'], ['x#y', 'ok'], ['x', 'error']]);
    const keys = await bed.cyrDbtoolShowBackupsDb();
    for (const u of ['x y', 'x (y)', 'x y (z)', 'x#y']) assert.ok(keys.has(u), `backups.db has ${u}`);
  });

  test('imapflow trims the end of a `* OK USER` line, which is why a userid ending in a space is refused', async () => {
    const run = await runXbackup(session, 'user.tr ', 'backup', { timeoutMs: 60_000, requested: ['tr '] });
    assert.deepEqual(run.tagged, { status: 'OK', text: 'Completed' });
    assert.ok((await bed.cyrDbtoolShowBackupsDb()).has('tr '), 'Cyrus backed up "tr "');
    assert.deepEqual(run.items.map((i) => i.text), ['tr'], 'but its line reads as if it were "tr"');
    assert.throws(() => useridToMailbox('tr ', session.naming), /it ends with a space/);
  });

  test('a pattern that matches nothing: no-such-mailbox, and backupd is not contacted', async () => {
    const run = await runXbackup(session, 'user.nosuch', 'backup', { timeoutMs: 10_000, requested: ['nosuch'] });
    assert.equal(run.failure?.kind, 'no-such-mailbox');
    assert.match(run.failure!.message, /^imap1: XBACKUP user\.nosuch backup: NO Mailbox does not exist/);
  });

  test('a user that is not an admin: not-admin, with the fix', async () => {
    const norm = await AdminSession.open(bedServerConfig(bed, 'imap1', { user: 'norm', password: new Secret('norm-pw', 'test') }));
    try {
      const run = await runXbackup(norm, 'user.anne', 'backup', { timeoutMs: 10_000, requested: ['anne'] });
      assert.equal(run.failure?.kind, 'not-admin');
      assert.match(run.failure!.message, /add it to `admins:`/);
    } finally {
      await norm.close();
    }
  });

  test('a wrong password is a login error that never shows the password', async () => {
    await assert.rejects(AdminSession.open(bedServerConfig(bed, 'imap1', { password: new Secret('wrong-secret-pw', 'test') })), (err: unknown) => {
      assert.ok(err instanceof ImapConnectionError);
      assert.equal(err.problem, 'login');
      assert.doesNotMatch(err.message, /wrong-secret-pw/);
      return true;
    });
  });

  test('backupd down: NO Retry operation is backupd-unreachable for every user asked', async () => {
    await bed.stopBackupd();
    try {
      const run = await runXbackup(session, 'user.anne', 'backup', { timeoutMs: 10_000, requested: ['anne'] });
      assert.equal(run.failure?.kind, 'backupd-unreachable');
      const [anne] = userOutcomes(run, ['anne']);
      assert.equal(anne!.outcome, 'no');
      assert.match(anne!.error!, /Retry operation/);
      assert.equal(anne!.inDoubt, false);
    } finally {
      await bed.startBackupd();
    }
  });

  test('a channel the server does not know: imapd dies, reported as a dropped connection with users in doubt', async () => {
    const victim = await AdminSession.open(bedServerConfig(bed));
    const run = await runXbackup(victim, 'user.bob', 'nosuchchannel', { timeoutMs: 10_000, requested: ['bob'] });
    await victim.close();
    assert.equal(run.failure?.kind, 'connection-dropped');
    assert.match(run.failure!.message, /channel nosuchchannel is probably not configured on imap1/);
    const [bob] = userOutcomes(run, ['bob']);
    assert.equal(bob!.inDoubt, true);
  });

  test('a channel name that Cyrus cannot match is refused before it reaches the wire', async () => {
    await assert.rejects(runXbackup(session, 'user.anne', 'Backup', { timeoutMs: 1000, requested: ['anne'] }), /channel/);
  });

  test('a user whose backup is locked (ctl_backups, or another XBACKUP): Mailbox is locked, retried later, not a failure', async () => {
    const first = await runXbackup(session, 'user.annette', 'backup', { timeoutMs: 60_000, requested: ['annette'] });
    assert.equal(first.failure, null);
    // The lock is held until this test says so (a file cyrus can see appears), not for a fixed time. The
    // file is in the bed's folder: a backupd of another release runs ctl_backups in its root, where only that folder is.
    const gate = mkdtempSync(join(bed.dir, 'lock-gate-'));
    chmodSync(gate, 0o755);
    const release = join(gate, 'release');
    // -w: wait for the lock rather than give up, since the polling list below may hold it for a moment.
    const holder = bed.ctlBackups(['-w', 'lock', '-x', `while [ ! -e ${release} ]; do sleep 0.05; done`, 'annette'], { timeoutMs: 300_000 });
    let run;
    try {
      // ctl_backups list skips a locked backup and says so: that is how we know the lock is held.
      let listed = '';
      await waitFor(async () => /locked/i.test((listed = (await bed.ctlBackups(['-V', 'list', 'annette'])).stderr)), {
        what: "annette's backup locked by ctl_backups",
        timeoutMs: 60_000,
        intervalMs: 50,
        describe: () => listed,
      });
      run = await runXbackup(session, 'user.annette', 'backup', { timeoutMs: 60_000, requested: ['annette'] });
    } finally {
      writeFileSync(release, '');
    }
    assert.equal((await holder).code, 0);
    rmSync(gate, { recursive: true, force: true });
    const [annette] = userOutcomes(run, ['annette']);
    assert.equal(annette!.outcome, 'no');
    assert.equal(annette!.locked, true);
    assert.match(annette!.error!, /Mailbox is locked/);
  });

  test('a command timeout closes the connection and leaves the user in doubt; the server finishes the backup anyway', async () => {
    const slow = await AdminSession.open(bedServerConfig(bed));
    const run = await runXbackup(slow, 'user.big2', 'backup', { timeoutMs: 50, requested: ['big2'] });
    await slow.close();
    assert.equal(run.failure?.kind, 'timeout');
    const [big2] = userOutcomes(run, ['big2']);
    assert.equal(big2!.inDoubt, true);
    await waitFor(async () => (await bed.cyrDbtoolShowBackupsDb()).has('big2'), { what: 'the server to go on with big2 after the client gave up', timeoutMs: 120_000 });
  });

  test('a first backup that stays silent far longer than the connection\'s idle limit completes and is verified', async (t) => {
    // The idle limit (twice servers[].stepTimeout outside XBACKUP) is shrunk instead of growing the mailbox
    // past a minute, and backupd is held (SIGSTOP) so that the XBACKUP stays silent until the limit is well
    // past. The limit must still outlast every other step and pause of this session on this machine: the step
    // timeout is five times a measured round (open, a backup of one small user verified, an XBACKUP refused).
    const roundStarted = performance.now();
    const probe = await AdminSession.open(bedServerConfig(bed));
    assert.equal((await runUserBackup(probe, backupsDb, 's1')).outcome, 'ok');
    await runXbackup(probe, 'user.nosuch', 'backup', { timeoutMs: 60_000, requested: ['nosuch'] });
    await probe.close();
    const stepTimeout = Math.min(20_000, Math.max(400, Math.ceil(5 * (performance.now() - roundStarted))));
    const patient = await AdminSession.open(bedServerConfig(bed, 'imap1', { commandTimeout: 600_000, stepTimeout }));
    t.after(() => bed.resumeBackupd());
    try {
      const started = performance.now();
      let settled = false;
      const backup = runUserBackup(patient, backupsDb, 'huge').finally(() => (settled = true));
      // Held once backupd writes huge's first messages: the transfer is under way, and the XBACKUP silent.
      await waitFor(() => settled || dataFileBytes(bed, 'huge') > 0, { what: "backupd writing huge's data file", timeoutMs: 120_000, intervalMs: 10 });
      bed.pauseBackupd();
      // The NOOP before XBACKUP takes less than a step timeout, so the XBACKUP has been silent for twice that (the idle limit) at least.
      await waitFor(() => settled || performance.now() - started >= 3 * stepTimeout, { what: `the XBACKUP silent for ${(3 * stepTimeout) / 1000} s`, timeoutMs: 3 * stepTimeout + 60_000 });
      if (settled) assert.fail(`the backup ended before the idle limit was past, after ${Math.round(performance.now() - started)} ms (step timeout ${stepTimeout} ms): ${JSON.stringify(await backup)}`);
      bed.resumeBackupd();
      const result = await backup;
      assert.equal(result.outcome, 'ok', result.error ?? '');
      assert.ok(performance.now() - started > 2 * stepTimeout, 'silent for longer than the idle limit');
      const after = await runXbackup(patient, 'user.nosuch', 'backup', { timeoutMs: 10_000, requested: ['nosuch'] });
      assert.equal(after.failure?.kind, 'no-such-mailbox', 'the connection is still usable afterwards');
    } finally {
      bed.resumeBackupd();
      await patient.close();
    }
  });

  test('an OK is verified against the index; an OK whose backup went elsewhere is unverified', async () => {
    const verified = await runUserBackup(session, backupsDb, 'anne');
    assert.equal(verified.outcome, 'ok', verified.error ?? '');
    const elsewhere = join(scratch, 'backups.db');
    writeFileSync(elsewhere, '');
    const unverified = await runUserBackup(session, new BackupsDbReader({ backupsDb: elsewhere, backupsDbFormat: 'flat' }), 'bob');
    assert.equal(unverified.outcome, 'unverified');
    assert.match(unverified.error!, /XBACKUP said OK for bob, but no entry in .*channel may point at another backup server/);
  });

});

describe('XBACKUP disabled', () => {
  const { bed } = useBed({ bed: { xbackupEnabled: false } });

  test('BAD Unrecognized command on a Cyrus that has XBACKUP means disabled, with the setting to change', async () => {
    const session = await AdminSession.open(bedServerConfig(bed));
    try {
      const run = await runXbackup(session, 'user.anne', 'backup', { timeoutMs: 10_000, requested: ['anne'] });
      assert.equal(run.failure?.kind, 'disabled');
      assert.match(run.failure!.message, /xbackup_enabled: yes/);
    } finally {
      await session.close();
    }
  });
});
