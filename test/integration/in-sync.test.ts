// Issue 16 against real Cyrus: the backup compared with the live mailboxes. What a change leaves behind,
// in messages and mailboxes; that the scheduler spares a user whose backup holds everything, and backs it
// up again after maxUnchangedAge; and a server that cannot be compared says so. Under the '.' separator,
// and under '/' with virtual domains, where the internal names differ most from what LIST shows.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { imapQuote } from '../cyrus/raw-imap.js';
import type { TestBedOptions } from '../cyrus/testbed.js';
import { writeBedConfig } from '../support/bed-config.js';
import { runCliProcess } from '../support/run-cli.js';
import { readAttempts } from '../support/state-db-reader.js';
import { indexCounts } from '../support/index-counts.js';
import { useBed } from '../support/use-bed.js';
import { waitFor } from '../support/wait-for.js';

interface Behind {
  mailboxes: number;
  messages: number;
  bytes: number | null;
}

interface ComparedUser {
  userid: string;
  state: string;
  behind: Behind | null;
  comparedAt: string | null;
  lastInSync: string | null;
  chunks: number | null;
  ageSeconds: number | null;
  error: string | null;
}

interface ComparedReport {
  behind: Behind & { users: number };
  compared: number;
  users: ComparedUser[];
}

/** Short enough that a backup gets older than it within the test (from the scheduler's test on): each wait is for the state it leads to. */
const MAX_AGE = '3s';

const beds: Array<{ name: string; bed: TestBedOptions; userid: string }> = [
  { name: "'.' separator", bed: {}, userid: 'anne.smith' },
  { name: "'/' separator with virtual domains", bed: { unixHierarchySep: true, virtDomains: true }, userid: 'anne.smith@example.com' },
];

for (const { name, bed: bedOptions, userid } of beds) {
  describe(`the backup against the live mailboxes, ${name}`, () => {
    const { bed, work } = useBed({
      bed: bedOptions,
      scratch: 'xbs-in-sync-',
      async setup() {
        await bed.createUser(userid, { folders: ['Sent'], messages: 4 });
        await bed.appendMessages(userid, 2, 500, { folder: 'Sent' });
      },
    });
    let config = '';
    const writeConfig = (maxAge: string, maxUnchangedAge: string) => {
      // A cycle a second: users are backed up ahead of maxAge by the schedule's period (plan/refresh-ahead.ts).
      const policy = `policy:\n  schedule: "* * * * * *"\n  maxAge: ${maxAge}\n  maxUnchangedAge: ${maxUnchangedAge}\n`;
      config = writeBedConfig(bed, join(work, 'cli'), { extra: policy });
    };

    async function report(extra: readonly string[] = []): Promise<ComparedReport> {
      const r = await runCliProcess(['report', '--json', ...extra, '-c', config]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as ComparedReport;
    }
    const me = (r: ComparedReport) => r.users.find((u) => u.userid === userid)!;

    async function chunks(): Promise<number> {
      const count = (await indexCounts(bed, 'chunk')).get(userid);
      assert.ok(count !== undefined, `${userid} is in backups.db`);
      return count;
    }

    async function backUp(): Promise<void> {
      const r = await runCliProcess(['backup', userid, '-c', config]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }

    async function onServer(commands: string[]): Promise<void> {
      const client = await bed.connect();
      try {
        for (const command of commands) {
          const answer = await client.command(command);
          assert.equal(answer.status, 'OK', `${command}: ${answer.text}`);
        }
      } finally {
        await client.logout();
      }
    }

    /** Waits until the user's backup alone (no comparison) is older than maxAge. */
    async function untilDueByAge(): Promise<void> {
      await waitFor(async () => me(await report(['--no-discovery'])).state === 'stale', { what: `${userid}'s backup older than maxAge ${MAX_AGE}`, timeoutMs: 60_000, intervalMs: 250 });
    }

    test('after a backup: compared, in sync, behind by nothing', async () => {
      // Nobody gets old while the changes are looked at, however slow the machine.
      writeConfig('1h', '1h');
      await backUp();
      const r = await report();
      assert.deepEqual([me(r).behind, me(r).state], [null, 'fresh'], JSON.stringify(me(r)));
      assert.ok(me(r).comparedAt !== null, 'compared');
      assert.ok(r.compared >= 1);
      // Its age counts from the reading of its mailboxes, which the report made itself: never before "now".
      assert.ok(me(r).ageSeconds !== null && me(r).ageSeconds! >= 0, JSON.stringify(me(r)));
    });

    test('a message appended to a subfolder: behind by exactly 1 message in 1 mailbox, still fresh by age', async () => {
      await bed.appendMessages(userid, 1, 700, { folder: 'Sent' });
      const r = await report();
      assert.deepEqual(me(r).behind, { mailboxes: 1, messages: 1, bytes: null });
      assert.equal(me(r).state, 'fresh');
      assert.deepEqual({ users: r.behind.users, messages: r.behind.messages }, { users: 1, messages: 1 });
      const table = await runCliProcess(['report', '-c', config]);
      assert.match(table.stdout, /1 message in 1 user not yet in the backup/);
    });

    test('a new folder with 3 messages: behind by 3 in 1 mailbox, with their size', async () => {
      await backUp();
      await onServer([`CREATE ${imapQuote(bed.mailboxName(userid, 'New'))}`]);
      await bed.appendMessages(userid, 3, 600, { folder: 'New' });
      const { behind } = me(await report());
      assert.equal(behind?.mailboxes, 1);
      assert.equal(behind?.messages, 3);
      assert.ok(behind?.bytes !== null && behind!.bytes >= 3 * 500, `the new folder's size: ${behind?.bytes}`);
    });

    test('a flag stored: behind in 1 mailbox by 0 messages, said rather than hidden', async () => {
      await backUp();
      await onServer([`SELECT ${imapQuote(bed.mailboxName(userid))}`, 'STORE 1 +FLAGS (\\Flagged)']);
      assert.deepEqual(me(await report()).behind, { mailboxes: 1, messages: 0, bytes: 0 });
    });

    test("the scheduler's XBACKUP of a user due and behind brings it in sync", async () => {
      writeConfig(MAX_AGE, '1h');
      await untilDueByAge();
      const before = await chunks();
      const run = await runCliProcess(['run', '--once', '-c', config]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.equal(await chunks(), before + 1, 'one XBACKUP appended one chunk');
      assert.equal(me(await report()).behind, null);
    });

    test('due by age but in sync: run --once sends no XBACKUP, the chunks stay, the history says in-sync', async () => {
      await untilDueByAge();
      const before = await chunks();
      const attemptsBefore = readAttempts(join(work, 'cli', 'state.db')).length;
      const run = await runCliProcess(['run', '--once', '-c', config]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.equal(await chunks(), before, 'no chunk appended: no XBACKUP reached backupd');
      const added = readAttempts(join(work, 'cli', 'state.db')).slice(attemptsBefore).filter((a) => a.userid === userid);
      assert.deepEqual(added.map((a) => a.outcome), ['in-sync'], JSON.stringify(added));
      const after = me(await report());
      assert.equal(after.state, 'fresh', JSON.stringify(after));
      assert.ok(after.lastInSync !== null);
      const history = await runCliProcess(['history', userid, '-c', config]);
      assert.match(history.stdout, /in-sync\s+\S+ on imap1 \(refresh, 0s\): its backup held everything its mailboxes had: no XBACKUP/);
    });

    test('past maxUnchangedAge the user is backed up although in sync', async () => {
      writeConfig(MAX_AGE, '4s');
      await waitFor(async () => me(await report()).state === 'stale', { what: `${userid} stale once its last real backup is maxUnchangedAge old`, timeoutMs: 60_000, intervalMs: 250 });
      const stale = me(await report());
      assert.equal(stale.behind, null, 'in sync all along');
      assert.match(stale.error ?? '', /policy\.maxUnchangedAge/);
      const before = await chunks();
      const run = await runCliProcess(['run', '--once', '-c', config]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.equal(await chunks(), before + 1);
    });

    test('a server that does not announce CONDSTORE: ages only, and every report and check says so', async () => {
      const conf = readFileSync(bed.imap.confPath, 'utf8');
      appendFileSync(bed.imap.confPath, 'suppress_capabilities: CONDSTORE\n');
      await bed.restartImap();
      try {
        const r = await report();
        assert.equal(me(r).comparedAt, null);
        assert.equal(r.compared, 0);
        const table = await runCliProcess(['report', '-c', config]);
        assert.match(table.stdout, /note: .*does not announce CONDSTORE: its users are judged by the age of their backups alone/);
        assert.match(table.stdout, /no user compared with its mailboxes \(ages only\)/);
        const check = await runCliProcess(['check', '-c', config]);
        assert.match(check.stdout, /^WARN imap1 comparison: does not announce CONDSTORE/m);
      } finally {
        writeFileSync(bed.imap.confPath, conf);
        await bed.restartImap();
      }
    });
  });
}
