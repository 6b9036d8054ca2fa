import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { TestBedOptions } from '../cyrus/testbed.js';
import { writeBedConfig } from '../support/bed-config.js';
import { parseCtlBackupsJsonList } from '../support/ctl-backups-list.js';
import { runCliProcess } from '../support/run-cli.js';
import { readAttempts } from '../support/state-db-reader.js';
import { waitFor } from '../support/wait-for.js';
import { useBed } from '../support/use-bed.js';

interface ReportUser {
  userid: string;
  state: string;
}

/**
 * The same story on each naming layout: discovery, XBACKUP names, backups.db keys and the report agree.
 * jürgen is `user.j&APw-rgen` on the wire: a Cyrus 3.10 session in IMAP4rev2 mode would name him in UTF-8.
 */
const layouts: Array<[string, TestBedOptions, string[]]> = [
  ['"/" separator with virtual domains', { unixHierarchySep: true, virtDomains: true }, ['anne.smith', 'anne@example.com', 'anne.smith@example.com', 'bob@example.com', 'dave', 'jürgen@example.com']],
  ['"." separator, a dotted userid', {}, ['anne.smith', 'annette', 'bob', 'jürgen']],
];

for (const [name, options, users] of layouts) {
  describe(`naming: ${name}`, () => {
    const { bed, config } = useBed({
      bed: options,
      scratch: 'xbs-naming-',
      config: {},
      async setup() {
        for (const u of users) await bed.createUser(u, { messages: 2, folders: ['Sent'] });
      },
    });

    test('discovery finds every user once, by userid, and nobody is backed up yet', async () => {
      const run = await runCliProcess(['report', '--json', '--sort', 'user', '-c', config]);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as { users: ReportUser[] };
      assert.deepEqual(report.users.map((u) => [u.userid, u.state]), [...users].sort().map((u) => [u, 'missing']));
    });

    test('backup "anne*" backs up exactly the matching users under their own names', async () => {
      const expected = users.filter((u) => u.startsWith('anne')).sort();
      const run = await runCliProcess(['backup', 'anne*', '-c', config]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.deepEqual(run.stdout.split('\n').filter((l) => l.startsWith('OK ')).map((l) => l.split(' ')[1]).sort(), expected);
      const keys = parseCtlBackupsJsonList((await bed.ctlBackups(['-j', 'list'])).stdout).map((e) => e.userid).sort();
      assert.deepEqual(keys, expected, 'backups.db keys are the userids');
    });

    test('the report joins backups.db and discovery on the same userids: no user is both missing and orphan', async () => {
      const run = await runCliProcess(['report', '--json', '--sort', 'user', '-c', config]);
      const report = JSON.parse(run.stdout) as { users: ReportUser[] };
      assert.deepEqual(
        report.users.map((u) => [u.userid, u.state]),
        [...users].sort().map((u) => [u, u.startsWith('anne') ? 'fresh' : 'missing']),
      );
    });
  });
}

interface PlanJson {
  planned: Array<{ userid: string; kind: string }>;
  held: Array<{ userid: string; reason: string; detail: string }>;
}

/**
 * Userids Cyrus 3.6.1 holds that the wire rules once refused (a space above all): each is
 * discovered, planned, backed up and reported under its own name. Cyrus also holds `a*b` and
 * `trail `, which XBACKUP cannot name alone and this tool cannot read back: they are refused by
 * name, and no batch pattern ever reaches them.
 */
const unusualLayouts: Array<[string, TestBedOptions, string[]]> = [
  ['"." separator', {}, []],
  ['"/" separator with virtual domains', { unixHierarchySep: true, virtDomains: true }, ['c d@example.com']],
];
const NAMEABLE = ['a b', 'a b2', ' lead', "o'brien", 'a#b', 'a (b)', 'x.y z', 'a'];
const UNNAMEABLE = ['a*b', 'trail '];

for (const [name, options, more] of unusualLayouts) {
  describe(`naming: userids with spaces and other characters Cyrus allows, ${name}`, () => {
    const nameable = [...NAMEABLE, ...more].sort();
    // The report's own config keeps the default maxAge: with the cycle's 1 s, users would turn stale while it starts.
    let reportConfig: string;
    const { bed, work, config } = useBed({
      bed: options,
      scratch: 'xbs-naming-unusual-',
      // Due by age alone: unchanged, the comparison with their mailboxes would keep them fresh.
      config: { extra: 'policy:\n  maxAge: 1s\n  compareLive: false\nbootstrap:\n  groupSize: 50\n' },
      async setup() {
        for (const u of [...nameable, ...UNNAMEABLE]) await bed.createUser(u, { messages: 1, folders: ['Sent'] });
        reportConfig = writeBedConfig(bed, join(work, 'report'));
      },
    });
    const report = async () => {
      const run = await runCliProcess(['report', '--json', '--sort', 'user', '-c', reportConfig]);
      assert.equal(run.code, 0, run.stderr);
      return Object.fromEntries((JSON.parse(run.stdout) as { users: ReportUser[] }).users.map((u) => [u.userid, u.state]));
    };
    const backupsDbKeys = async () => parseCtlBackupsJsonList((await bed.ctlBackups(['-j', 'list'])).stdout).map((e) => e.userid).sort();

    test('discovery finds each under its own userid', async () => {
      assert.deepEqual(await report(), Object.fromEntries([...nameable, ...UNNAMEABLE].sort().map((u) => [u, 'missing'])));
    });

    test('plan: first backups for all it can name; the other two held, saying why', async () => {
      const run = await runCliProcess(['plan', '--json', '-c', config]);
      assert.equal(run.code, 0, run.stderr);
      const plan = JSON.parse(run.stdout) as PlanJson;
      assert.deepEqual(Object.fromEntries(plan.planned.map((p) => [p.userid, p.kind])), Object.fromEntries(nameable.map((u) => [u, 'first'])));
      const held = Object.fromEntries(plan.held.map((h) => [h.userid, `${h.reason}: ${h.detail}`]));
      assert.deepEqual(Object.keys(held).sort(), UNNAMEABLE);
      assert.match(held['a*b']!, /^not-backed-up-by-us: its userid cannot be sent in an XBACKUP command: it contains '\*'; Cyrus allows it in a userid, but XBACKUP reads every '\*' as a wildcard/);
      assert.match(held['trail ']!, /^not-backed-up-by-us: its userid cannot be sent in an XBACKUP command: it ends with a space/);
    });

    test("backup 'a b' backs up exactly that user, verified against its index", async () => {
      const run = await runCliProcess(['backup', 'a b', '-c', config]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /^OK a b \d+\.\ds \(imap1\)\n1 ok, 0 failed\n$/);
      assert.deepEqual(await backupsDbKeys(), ['a b']);
    });

    test("backup '*' backs up every user it can name under its own name, and refuses the other two by name", async () => {
      const run = await runCliProcess(['backup', '*', '-c', config]);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const ok = run.stdout.split('\n').flatMap((line) => /^OK (.*) \d+\.\ds \(imap1\)$/.exec(line)?.[1] ?? []);
      assert.deepEqual(ok.sort(), nameable);
      assert.match(run.stdout, /^ERROR a\*b \(imap1\): its userid cannot be sent in an XBACKUP command: it contains '\*'/m);
      assert.match(run.stdout, /^ERROR trail {2}\(imap1\): its userid cannot be sent in an XBACKUP command: it ends with a space/m);
      assert.match(run.stdout, new RegExp(`^${nameable.length} ok, 2 failed$`, 'm'));
      assert.deepEqual(await backupsDbKeys(), nameable);
    });

    test('a cycle refreshes them with batch patterns that never reach a*b or "trail "; the report shows them fresh', async () => {
      // Due first: every backup older than the cycle's maxAge of 1 s.
      let states: Record<string, string> = {};
      await waitFor(
        async () => {
          const r = await runCliProcess(['report', '--json', '-c', config]);
          assert.equal(r.code, 0, r.stderr);
          states = Object.fromEntries((JSON.parse(r.stdout) as { users: ReportUser[] }).users.map((u) => [u.userid, u.state]));
          return nameable.every((u) => states[u] === 'stale');
        },
        { what: 'every nameable user stale under maxAge 1 s', timeoutMs: 60_000, describe: () => JSON.stringify(states) },
      );
      const run = await runCliProcess(['run', '--once', '-c', config], { timeoutMs: 120_000 });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const refreshes = readAttempts(join(work, 'state.db')).filter((a) => a.kind === 'refresh');
      assert.deepEqual(Object.fromEntries(refreshes.map((a) => [a.userid, a.outcome])), Object.fromEntries(nameable.map((u) => [u, 'ok'])));
      assert.equal(refreshes.length, nameable.length);
      assert.ok(refreshes.some((a) => a.pattern.endsWith('*')), `some users shared a pattern: ${refreshes.map((a) => a.pattern).join(' | ')}`);
      assert.deepEqual(await backupsDbKeys(), nameable, 'a*b and "trail " were never backed up');
      assert.deepEqual(await report(), Object.fromEntries([...nameable.map((u) => [u, 'fresh']), ...UNNAMEABLE.map((u) => [u, 'missing'])]));
    });
  });
}
