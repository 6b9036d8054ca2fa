import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { parseCtlBackupsJsonList } from '../support/ctl-backups-list.js';
import { runCliProcess } from '../support/run-cli.js';
import { useBed } from '../support/use-bed.js';

describe('backup, check and report with discovery, against two real IMAP servers sharing one backupd', () => {
  const { bed, work, config } = useBed({
    bed: { secondImapServer: true },
    scratch: 'xbs-backup-cmd-',
    config: { servers: [{ which: 'imap1', settings: { maxConcurrent: 2 } }, { which: 'imap2' }] },
    async setup() {
      for (const u of ['alice', 'adam', 'bob', 'carl', 'dup']) await bed.createUser(u, { messages: 2 });
      for (const u of ['amy', 'zoe', 'dup']) await bed.createUser(u, { server: 'imap2', messages: 2 });
    },
  });

  const backedUp = async () => new Set(parseCtlBackupsJsonList((await bed.ctlBackups(['-j', 'list'])).stdout).map((e) => e.userid));

  test('check passes on both servers and says what it checked', async () => {
    const run = await runCliProcess(['check', '-c', config]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^PASS config: /m);
    assert.match(run.stdout, /^WARN backups\.db: .* does not exist yet/m);
    const release = bed.releases.imap.replace('.', '\\.');
    assert.match(run.stdout, new RegExp(`^PASS imap1 login: admin@127\\.0\\.0\\.1:\\d+ \\(none\\), Cyrus ${release}\\.\\S+, hierarchy separator "\\."$`, 'm'));
    assert.match(run.stdout, /^PASS imap1 XBACKUP: enabled, admin is an admin; channel "backup"/m);
    assert.match(run.stdout, /^PASS imap2 XBACKUP: /m);
    assert.deepEqual(await backedUp(), new Set(), 'check backs nobody up');
  });

  test('--dry-run lists who would be backed up and backs up nobody', async () => {
    const run = await runCliProcess(['backup', 'a*', '--dry-run', '-c', config]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.split('\n').filter((l) => l.startsWith('would')).sort(), [
      'would back up adam on imap1',
      'would back up alice on imap1',
      'would back up amy on imap2',
    ]);
    assert.deepEqual(await backedUp(), new Set());
  });

  test('backup "a*" backs up exactly the matching users on both servers, each verified, one line each', async () => {
    const run = await runCliProcess(['backup', 'a*', '-c', config]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.deepEqual(lines.filter((l) => l.startsWith('OK ')).map((l) => l.split(' ')[1]).sort(), ['adam', 'alice', 'amy']);
    assert.match(run.stdout, /^OK amy \d+\.\ds \(imap2\)$/m);
    assert.equal(lines.at(-1), '3 ok, 0 failed');
    assert.deepEqual(await backedUp(), new Set(['adam', 'alice', 'amy']));
  });

  test('--json prints one stable line per user and a summary', async () => {
    const run = await runCliProcess(['backup', 'bob', 'zoe', '--json', '-c', config]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.at(-1), { summary: { ok: 2, failed: 0 } });
    const bob = lines.find((l) => l.userid === 'bob');
    assert.deepEqual(Object.keys(bob), ['userid', 'server', 'outcome', 'seconds', 'error', 'group']);
    assert.deepEqual([bob.server, bob.outcome, bob.error, bob.group], ['imap1', 'ok', null, null]);
    assert.equal(typeof bob.seconds, 'number');
  });

  test("diagnose: each IMAP server's Cyrus release and the backup server's, check's lines, the attempts under pseudonyms, no password", async () => {
    const run = await runCliProcess(['diagnose', '-c', config]);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as {
      cyrus: { backupServer: { version?: string; error?: string }; imapServers: Record<string, string | null> };
      check: Array<{ verdict: string; what: string; detail: string }>;
      attempts: { userids: string; recent: Array<{ user: string; server: string; outcome: string | null }> };
    };
    const release = bed.releases.imap.replace('.', '\\.');
    for (const server of ['imap1', 'imap2']) assert.match(doc.cyrus.imapServers[server] ?? 'none', new RegExp(`^${release}\\.`), server);
    // The scheduler's own ctl_backups and cyr_info: the host's, whichever release the bed's backupd runs.
    assert.match(doc.cyrus.backupServer.version ?? doc.cyrus.backupServer.error ?? '', /^cyrus-imapd 3\.\d+\.\d+/);
    assert.ok(doc.check.some((l) => l.verdict === 'PASS' && l.what === 'imap2 XBACKUP'), JSON.stringify(doc.check));
    // The users backed up above, each under a pseudonym; their userids appear nowhere in the document.
    assert.ok(doc.attempts.recent.length >= 5, JSON.stringify(doc.attempts));
    assert.ok(doc.attempts.recent.every((a) => /^user-\d+$/.test(a.user) && a.outcome === 'ok'), JSON.stringify(doc.attempts.recent));
    for (const userid of ['adam', 'alice', 'amy', 'zoe']) assert.doesNotMatch(run.stdout, new RegExp(`\\b${userid}\\b`));
    assert.ok(!run.stdout.includes(bed.admin.password), 'the admin password is in the document');
  });

  test('a user on two servers is refused; an unknown userid is reported; exit code 1', async () => {
    const run = await runCliProcess(['backup', 'dup', 'nobody', '-c', config]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^ERROR dup \(imap1,imap2\): dup found on imap1 and imap2: not backed up until it lives on one server only/m);
    assert.match(run.stdout, /^ERROR nobody: nobody is on none of the configured servers/m);
    assert.ok(!(await backedUp()).has('dup'));
  });

  test('a pattern that could split the IMAP command is refused before anything is sent', async () => {
    const run = await runCliProcess(['backup', 'bob\r\nA1 LIST "" "*"', '-c', config]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /refusing pattern "bob\\r\\nA1 LIST .*: it contains a line break/);
    const exact = await runCliProcess(['backup', 'bob\nA1 DELETE user.bob', '-c', config]);
    assert.equal(exact.code, 2);
    assert.match(exact.stderr, /refusing userid "bob\\nA1 DELETE user\.bob"/);
  });

  test('a userid Cyrus cannot hold, or whose answer this tool cannot read, is refused before anything is sent, saying what and why', async () => {
    const before = await backedUp();
    const quote = await runCliProcess(['backup', 'bob"x', '-c', config]);
    assert.equal(quote.code, 2, quote.stdout + quote.stderr);
    assert.match(quote.stderr, /refusing userid "bob\\"x": it contains '"'; Cyrus does not allow '"' in mailbox names \(nor any of " % ! \/ ; < > \\ ` \{ \| \}\)/);
    const tab = await runCliProcess(['backup', 'bob\tx', '-c', config]);
    assert.equal(tab.code, 2, tab.stdout + tab.stderr);
    assert.match(tab.stderr, /refusing userid "bob\\tx": it contains the control character U\+0009 \(tab\); Cyrus does not allow control characters in mailbox names/);
    // Cyrus holds this one, but the end of its `* OK USER` line would be lost: refused, and why.
    const trailing = await runCliProcess(['backup', 'bob ', '-c', config]);
    assert.equal(trailing.code, 2, trailing.stdout + trailing.stderr);
    assert.match(trailing.stderr, /refusing userid "bob ": it ends with a space; Cyrus holds and backs up such a user, but imapflow trims .*: rename the user in Cyrus/);
    assert.deepEqual(await backedUp(), before);
  });

  test('a pattern that matches nobody says so, naming the servers asked, and exits 1', async () => {
    const run = await runCliProcess(['backup', 'zz*', '-c', config]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^ERROR zz\*: zz\* matches no user on imap1, imap2 within their servers\[\]\.users patterns$/m);
    assert.equal(run.stdout.trim().split('\n').at(-1), '0 ok, 1 failed');
    // Users of the pattern only on another server than --server's are not silently nobody either.
    const elsewhere = await runCliProcess(['backup', 'b*', '--server', 'imap2', '--dry-run', '-c', config]);
    assert.equal(elsewhere.code, 1, elsewhere.stdout + elsewhere.stderr);
    assert.match(elsewhere.stdout, /^ERROR b\*: b\* matches no user on imap2 \(--server\), only on imap1$/m);
  });

  test('--server limits to one server; an unknown server name is a usage error', async () => {
    const dry = await runCliProcess(['backup', '*', '--server', 'imap2', '--dry-run', '-c', config]);
    assert.equal(dry.code, 1, 'dup is on imap1 too, so it is refused on imap2');
    assert.match(dry.stdout, /^ERROR dup \(imap1,imap2\)/m);
    assert.match(dry.stdout, /would back up amy on imap2/);
    assert.doesNotMatch(dry.stdout, /alice/);
    const bad = await runCliProcess(['backup', '*', '--server', 'imap9', '-c', config]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--server imap9: no such server in .*; configured: imap1, imap2/);
  });

  test('report with discovery: missing and conflict users appear, and an unreachable server makes it partial', async () => {
    const run = await runCliProcess(['report', '--json', '-c', config]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { discovery: string; users: Array<{ userid: string; state: string; server: string | null }> };
    const state = Object.fromEntries(report.users.map((u) => [u.userid, u.state]));
    assert.equal(report.discovery, 'complete');
    assert.equal(state.alice, 'fresh');
    assert.equal(state.carl, 'missing');
    assert.equal(state.dup, 'conflict');
    assert.equal(report.users.find((u) => u.userid === 'amy')!.server, 'imap2');

    const partial = writeBedConfig(bed, join(work, 'partial'), { servers: [{ which: 'imap1' }, { which: 'imap2', settings: { port: 1 } }] });
    const p = await runCliProcess(['report', '-c', partial]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /note: could not ask imap2 for its users: imap2: .*ECONNREFUSED/);
    assert.match(p.stdout, /note: some IMAP servers could not be asked/);
  });

  test('check --canary backs up one user and verifies it', async () => {
    const run = await runCliProcess(['check', '--canary', 'carl', '-c', config]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^PASS imap1 canary carl: backed up in \d+\.\d\d s and a new chunk is in its index$/m);
    assert.match(run.stdout, /^WARN imap2 canary: carl is not on imap2; canary skipped here$/m);
    assert.doesNotMatch(run.stdout, /^FAIL/m);
  });

  test('check --canary with a user on no server fails, saying which servers were asked and what to do', async () => {
    const run = await runCliProcess(['check', '--canary', 'nosuchuser', '-c', config]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^FAIL canary: nosuchuser is on none of the servers asked \(imap1, imap2\), so nothing was backed up; give --canary the userid of a small user that exists there/m);
  });
});
