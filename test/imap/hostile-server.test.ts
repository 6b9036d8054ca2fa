// The real AdminSession, runXbackup and userOutcomes (what the executor records per user) against a
// fake IMAP server that greets and logs in like Cyrus, then answers XBACKUP hostilely. The rule under
// test: a user counts as backed up only when the server said `* OK USER <that user>`, in plain text,
// during the command that asked for that user; everything else is ignored, refused or left in doubt,
// and a misbehaving server can neither hang the command nor make it buffer without bound (the answers
// that never end are in hostile-list-flood.test.ts and hostile-xbackup-flood.test.ts).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { compileUseridPattern } from '../../src/cyrus-names/userid-pattern.js';
import { AdminSession } from '../../src/imap/admin-session.js';
import { discoverUsers } from '../../src/imap/discover-users.js';
import { ImapConnectionError } from '../../src/imap/imap-connection-error.js';
import { probeXbackup } from '../../src/imap/probe-xbackup.js';
import { runXbackup } from '../../src/imap/xbackup.js';
import { FakeImapServer, garbageAfterGreeting, silentAfterGreeting, type FakeImapServerOptions } from './support/fake-imap-server.js';
import { fakeServer, ok, runOn, stopFakeServers, xbackup } from './support/hostile-session.js';

after(stopFakeServers);

describe('the fake server speaks enough IMAP', () => {
  test('an honest answer: each requested user by its own line', async () => {
    const { run, outcomes, server, session } = await xbackup((c, conn) => conn.write(`* OK USER alice\r\n* NO USER bob (Mailbox is locked)\r\n${c.tag} OK Completed\r\n`), ['alice', 'bob']);
    assert.equal(run.failure, null);
    assert.deepEqual(run.tagged, { status: 'OK', text: 'Completed' });
    assert.ok(ok(outcomes.get('alice')));
    assert.equal(outcomes.get('bob')!.outcome, 'no');
    assert.equal(outcomes.get('bob')!.locked, true);
    assert.deepEqual(server.commands.at(-1), { tag: server.commands.at(-1)!.tag, name: 'XBACKUP', args: ['user.*', 'backup'] });
    assert.ok(server.commands.some((c) => c.name === 'LIST'), 'the session asked for the separator');
    await session.close();
  });
});

describe('a response that never ends', () => {
  test('a line without CRLF (streamed until the client gives up, at most 64 MB) fails the command with the reason, users in doubt', async (t) => {
    const limit = 64 * 1024 * 1024;
    let written = 0;
    const { run, outcomes, session } = await xbackup(
      async (_c, conn) => {
        const chunk = Buffer.alloc(64 * 1024, 'A');
        conn.write('* OK USER ');
        while (written < limit && (await conn.writeAndDrain(chunk))) written += chunk.length;
      },
      ['alice'],
      { timeoutMs: 60_000 },
    );
    t.diagnostic(`the server got ${(written / 1024 / 1024).toFixed(1)} MiB onto the socket before the client closed it`);
    assert.equal(run.failure?.kind, 'connection-dropped', run.failure?.message);
    assert.match(run.failure.message, /connection lost before the tagged answer: .*Line length \d+ exceeds maximum allowed size of 1048576 bytes \[LineTooLarge\]/);
    assert.ok(written < limit, 'the client closed the connection instead of buffering the stream');
    const alice = outcomes.get('alice')!;
    assert.equal(alice.outcome, 'error');
    assert.equal(alice.inDoubt, true, 'the server may still be backing alice up');
    assert.equal(session.usable, false);
  });

  test('a literal announced far above the cap is refused before its bytes arrive', async () => {
    const { run, outcomes } = await xbackup((_c, conn) => conn.write('* OK USER {2147483648}\r\nalice'));
    assert.equal(run.failure?.kind, 'connection-dropped');
    assert.match(run.failure.message, /Literal size 2147483648 exceeds maximum allowed size of 1048576 bytes \[LiteralTooLarge\]/);
    assert.equal(outcomes.get('alice')!.inDoubt, true);
  });

  test('a response of tens of thousands of tokens is refused, not parsed into a huge tree', async () => {
    const { run, outcomes } = await xbackup((c, conn) => conn.write(`* LIST (${'\\x '.repeat(20_000)}) "." "user.alice"\r\n* OK USER alice\r\n${c.tag} OK Completed\r\n`));
    assert.equal(run.failure?.kind, 'connection-dropped');
    assert.match(run.failure.message, /TooManyTokens|token/i);
    assert.equal(outcomes.get('alice')!.outcome, 'error', 'nothing after the refused response is read');
  });
});

describe('per-user lines are attributed exactly', () => {
  test('lines for users that were not asked for are ignored, however close to the one asked for', async () => {
    const lines = ['* OK USER mallory', '* OK USER Alice', '* OK USER alice@example.com', '* OK USER alice.evil', '* OK USER alicee', '* OK MAILBOX user.alice', '* NO USER alice (Mailbox is locked)'];
    const { run, outcomes } = await xbackup((c, conn) => conn.write(`${lines.join('\r\n')}\r\n${c.tag} OK Completed\r\n`));
    assert.equal(run.items.length, lines.length, 'every line was read');
    assert.equal(outcomes.size, 1);
    assert.equal(outcomes.get('alice')!.outcome, 'no');
    assert.equal(outcomes.get('alice')!.locked, true);
  });

  test('only lines for others: the user asked for is not counted as backed up', async () => {
    const { outcomes } = await xbackup((c, conn) => conn.write(`* OK USER mallory\r\n* OK USER bob\r\n${c.tag} OK Completed\r\n`), ['alice', 'carol']);
    for (const userid of ['alice', 'carol']) {
      assert.equal(outcomes.get(userid)!.outcome, 'error');
      assert.match(outcomes.get(userid)!.error!, /answered OK but never reported this user/);
    }
  });

  test('USER lines before or after the command (during LIST, after its tagged OK) are not its lines', async () => {
    const server = await fakeServer({
      handlers: {
        LIST: (c, conn) => conn.write(`* OK USER alice\r\n* LIST (\\Noselect) "." ""\r\n${c.tag} OK Completed\r\n`),
        XBACKUP: (c, conn) => {
          const first = server.commands.filter((command) => command.name === 'XBACKUP').length === 1;
          // The first command says NO for alice, then a stray OK for her right after its tagged answer.
          conn.write(first ? `* NO USER alice (Bad protocol)\r\n${c.tag} OK Completed\r\n* OK USER alice\r\n` : `${c.tag} OK Completed\r\n`);
        },
      },
    });
    const session = await AdminSession.open(server.serverConfig());
    const first = await runOn(session, ['alice']);
    assert.equal(first.outcomes.get('alice')!.outcome, 'no');
    const second = await runOn(session, ['alice']);
    assert.equal(second.outcomes.get('alice')!.outcome, 'error', 'the stray OK of the first command is not the second one\'s');
    await session.close();
  });

  test('a tagged OK with another tag (an earlier command\'s, or an unknown one) does not complete the command', async () => {
    const { run, outcomes } = await xbackup((c, conn) => {
      const earlier = conn.answeredTags.at(-1)!;
      conn.write(`${earlier} OK Completed\r\nX999 OK Completed\r\n* 1 EXISTS\r\n* OK USER alice\r\n${c.tag} OK Completed for real\r\n`);
    });
    assert.deepEqual(run.tagged, { status: 'OK', text: 'Completed for real' }, 'only our own tag completed it');
    assert.ok(ok(outcomes.get('alice')), 'so the line after the foreign tags still counted');
  });

  test('a NO without any tag is not taken as the answer: users in doubt, and the connection is not reused', async () => {
    const { run, outcomes, session } = await xbackup((c, conn) => {
      conn.write('NO Mailbox is locked\r\n');
      setTimeout(() => conn.write(`* OK USER alice\r\n${c.tag} OK Completed\r\n`), 100);
    });
    assert.equal(run.failure?.kind, 'connection-dropped');
    assert.match(run.failure.message, /the server sent an untagged NO "Mailbox is locked" instead of this command's tagged answer/);
    assert.equal(outcomes.get('alice')!.inDoubt, true);
    assert.equal(session.usable, false, 'closed, so that its late lines cannot reach the next command');
  });

  // Cyrus writes `* OK USER <userid>` with the userid as plain text (it is resp-text, which RFC 3501
  // gives no literals or quoting); anything else on such a line is not a userid Cyrus reported.
  for (const [what, line] of [
    ['a literal carrying the userid', '* OK USER {5}\r\nalice'],
    ['a literal carrying the userid, and a line after it', '* OK USER {5}\r\nalice\r\n* OK USER {5}\r\nalice'],
    ['a quoted userid', '* OK USER "alice"'],
    ['a response code before it', '* OK [ALERT] USER alice'],
    ['a NUL inside the userid', '* OK USER ali\0ce'],
    ['a second space', '* OK USER  alice'],
    ['a trailing word', '* OK USER alice extra'],
    ['a TAB instead of the space', '* OK USER\talice'],
    ['lowercase', '* OK user alice'],
  ] as const) {
    test(`a USER line with ${what} does not count for the user`, async () => {
      const { outcomes } = await xbackup((c, conn) => conn.write(`${line}\r\n${c.tag} OK Completed\r\n`));
      assert.equal(outcomes.get('alice')!.outcome, 'error', JSON.stringify(outcomes.get('alice')));
    });
  }

  test('a userid in modified UTF-7 counts for the user it spells', async () => {
    const { outcomes } = await xbackup((c, conn) => conn.write(`* OK USER jos&AOk-\r\n${c.tag} OK Completed\r\n`), ['josé']);
    assert.ok(ok(outcomes.get('josé')));
  });
});

describe('userids with spaces and parentheses (Cyrus allows both, and writes them unquoted)', () => {
  test('a userid with spaces counts for that user only, on an OK line and a NO line', async () => {
    const { outcomes } = await xbackup(
      (c, conn) => conn.write(`* OK USER a b\r\n* NO USER a  b (Mailbox is locked)\r\n* OK USER  a\r\n${c.tag} OK Completed\r\n`),
      ['a b', 'a  b', 'a'],
    );
    assert.ok(ok(outcomes.get('a b')));
    assert.deepEqual([outcomes.get('a  b')!.outcome, outcomes.get('a  b')!.error, outcomes.get('a  b')!.locked], ['no', 'Mailbox is locked', true]);
    assert.equal(outcomes.get('a')!.outcome, 'error', "' a' is another user");
  });

  test("a userid holding ' (' is told from a NO line's reason by the users asked for", async () => {
    const { outcomes } = await xbackup(
      (c, conn) => conn.write(`* NO USER a (b) (The remote Server(s) denied the operation)\r\n* OK USER a (c\r\n${c.tag} OK Completed\r\n`),
      ['a (b)', 'a (c', 'a'],
    );
    assert.deepEqual([outcomes.get('a (b)')!.outcome, outcomes.get('a (b)')!.error], ['no', 'The remote Server(s) denied the operation']);
    assert.ok(ok(outcomes.get('a (c')));
    assert.equal(outcomes.get('a')!.outcome, 'error', 'both lines name longer userids that were asked for');
  });

  test("a line of a hundred thousand ' (' costs no more than the longest userid asked for", async () => {
    // The peer is a line of the same length with one ' (': the same bytes to read, one opening to try.
    // Trying every opening costs about 75 times the peer. Counted is this process's CPU time (the client
    // and the fake server), which a busy machine stretches far less than wall time; best of 5 each, interleaved.
    const hostile = `alice${' ('.repeat(100_000)})`;
    const peer = `alice (${'x'.repeat(hostile.length - 'alice ()'.length)})`;
    assert.equal(peer.length, hostile.length);
    let line = hostile;
    const server = await fakeServer({ handlers: { XBACKUP: (c, conn) => conn.write(`* NO USER ${line}\r\n${c.tag} OK Completed\r\n`) } });
    const session = await AdminSession.open(server.serverConfig());
    const cpuMs = () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    };
    const best = { hostile: Infinity, peer: Infinity };
    for (let round = 0; round < 5; round++) {
      for (const which of ['hostile', 'peer'] as const) {
        line = which === 'hostile' ? hostile : peer;
        const started = cpuMs();
        const { outcomes } = await runOn(session, ['alice']);
        best[which] = Math.min(best[which], cpuMs() - started);
        assert.equal(outcomes.get('alice')!.outcome, 'no', "alice's own reason is the rest of the line");
      }
    }
    await session.close();
    const ratio = best.hostile / best.peer;
    console.log(`# 100,000 ' (' in a USER line: best ${best.hostile.toFixed(1)} ms of CPU, a same-length line with one: ${best.peer.toFixed(1)} ms (${ratio.toFixed(1)}×)`);
    assert.ok(ratio < 15, `the hostile line cost ${ratio.toFixed(1)}× the CPU time of a plain line of the same length`);
    const other = await xbackup((c, conn) => conn.write(`* NO USER bob${' ('.repeat(100_000)})\r\n${c.tag} OK Completed\r\n`));
    assert.equal(other.outcomes.get('alice')!.outcome, 'error');
  });
});

describe('NO USER lines with odd text', () => {
  for (const [line, expected] of [
    ['* NO USER alice', { outcome: 'no', error: 'failed', locked: false }],
    ['* NO USER alice (Mailbox is locked)', { outcome: 'no', error: 'Mailbox is locked', locked: true }],
    ['* NO USER alice ()', { outcome: 'no', error: '', locked: false }],
    ['* NO USER alice (nested (parentheses) inside)', { outcome: 'no', error: 'nested (parentheses) inside', locked: false }],
    ['* NO USER alice (\x1b[2J\x1b[31mred\x9b)', { outcome: 'no', error: '\\u001b[2J\\u001b[31mred\\u009b', locked: false }],
    ['* NO USER alice (unbalanced', { outcome: 'error', error: /never reported/, locked: false }],
    ['* NO USER', { outcome: 'error', error: /never reported/, locked: false }],
    ['* NO USER alice (x) trailing', { outcome: 'error', error: /never reported/, locked: false }],
    // The status decides; Cyrus never adds a reason to an OK line, and the backup is verified against the index anyway.
    ['* OK USER alice (Mailbox is locked)', { outcome: 'ok', error: null, locked: false }],
  ] as const) {
    test(JSON.stringify(line), async () => {
      const { outcomes } = await xbackup((c, conn) => conn.write(`${line}\r\n${c.tag} OK Completed\r\n`));
      const alice = outcomes.get('alice')!;
      assert.equal(alice.outcome, expected.outcome);
      assert.equal(alice.locked, expected.locked);
      if (expected.error instanceof RegExp) assert.match(alice.error ?? '', expected.error);
      else assert.equal(alice.error, expected.error);
      assert.doesNotMatch(alice.error ?? '', /[\p{Cc}]/u, 'no raw control characters');
    });
  }

  test('a huge reason is kept whole but cannot break the line it is logged on', async () => {
    const reason = `${'x'.repeat(100_000)}\x1b`;
    const { outcomes } = await xbackup((c, conn) => conn.write(`* NO USER alice (${reason})\r\n${c.tag} NO \x1b[31mno\r\n`));
    assert.equal(outcomes.get('alice')!.error, `${'x'.repeat(100_000)}\\u001b`);
  });

  test('control characters in the tagged answer are escaped in the failure', async () => {
    const { run } = await xbackup((c, conn) => conn.write(`${c.tag} NO \x1b[31mMailbox does not exist\x07\r\n`));
    assert.equal(run.failure?.kind, 'no-such-mailbox');
    assert.doesNotMatch(run.failure.message, /[\p{Cc}]/u);
    assert.match(run.failure.message, /\\u001b\[31mMailbox does not exist\\u0007/);
  });
});

describe('a server that goes away or goes quiet', () => {
  test('a BYE right after the greeting: the session does not open, and says why', async () => {
    const byeAfterGreeting = await fakeServer({ greeting: '* OK fake ready\r\n* BYE Too many connections from your host' });
    const byeGreeting = await fakeServer({ greeting: '* BYE [UNAVAILABLE] Server shutting down' });
    for (const fake of [byeAfterGreeting, byeGreeting]) {
      await assert.rejects(AdminSession.open(fake.serverConfig()), (error) => {
        assert.ok(error instanceof ImapConnectionError, String(error));
        assert.match(error.message, /^fake: /);
        return true;
      });
    }
    assert.equal(byeGreeting.commands.length, 0, 'nothing is sent to a server that refused the connection');
  });

  test('a BYE in the middle of XBACKUP: users already reported keep their outcome, the rest are in doubt', async () => {
    const { run, outcomes } = await xbackup(
      (_c, conn) => {
        conn.write('* OK USER alice\r\n* BYE Fatal error: Virtual memory exhausted\r\n');
        conn.socket.end();
      },
      ['alice', 'bob'],
    );
    assert.equal(run.failure?.kind, 'connection-dropped');
    assert.match(run.failure.message, /the server said BYE Fatal error: Virtual memory exhausted/);
    assert.ok(ok(outcomes.get('alice')));
    assert.equal(outcomes.get('bob')!.outcome, 'error');
    assert.equal(outcomes.get('bob')!.inDoubt, true);
  });

  test('a tagged BYE is not an answer', async () => {
    const { run, outcomes } = await xbackup((c, conn) => conn.write(`* OK USER alice\r\n${c.tag} BYE done\r\n`), ['alice', 'bob']);
    assert.equal(run.tagged, null);
    assert.equal(run.failure?.kind, 'connection-dropped');
    assert.ok(ok(outcomes.get('alice')));
    assert.equal(outcomes.get('bob')!.inDoubt, true);
  });

  test('a server that never answers: the command timeout ends it, the connection is closed, users in doubt', async () => {
    const { run, outcomes, session } = await xbackup(() => undefined, ['alice', 'bob'], { timeoutMs: 1000 });
    assert.equal(run.failure?.kind, 'timeout');
    assert.match(run.failure.message, /no tagged answer after 1 s/);
    assert.ok([...outcomes.values()].every((o) => o.outcome === 'error' && o.inDoubt));
    assert.equal(session.usable, false);
  });

  test('a server that answers some users and then goes quiet: those keep their outcome', async () => {
    const { run, outcomes } = await xbackup((_c, conn) => conn.write('* OK USER alice\r\n'), ['alice', 'bob'], { timeoutMs: 1000 });
    assert.equal(run.failure?.kind, 'timeout');
    assert.ok(ok(outcomes.get('alice')));
    assert.equal(outcomes.get('bob')!.inDoubt, true);
  });

  test('a connection closed without a word mid-command: users in doubt', async () => {
    const { run, outcomes } = await xbackup((_c, conn) => conn.close(), ['alice']);
    assert.equal(run.failure?.kind, 'connection-dropped');
    assert.equal(outcomes.get('alice')!.inDoubt, true);
  });

  test('a connection lost at the NOOP that precedes XBACKUP: a connection error, XBACKUP never sent, nobody in doubt', async () => {
    const server = await fakeServer({ handlers: { NOOP: (_c, conn) => conn.close() } });
    const session = await AdminSession.open(server.serverConfig());
    await assert.rejects(runXbackup(session, 'user.alice', 'backup', { timeoutMs: 10_000, requested: ['alice'] }));
    assert.deepEqual(server.commands.map((c) => c.name).filter((n) => n === 'XBACKUP'), []);
  });
});

// servers[].stepTimeout bounds every step but XBACKUP itself (which has commandTimeout): a server that
// hangs, or talks without ever answering, fails the step in that time, naming the server.
describe('a server that hangs: every step has a deadline', () => {
  const STEP = 1000;
  // A bound on a hang, not a measure: far above one step timeout on a busy machine, far below imapflow's own
  // 5-minute timeouts, which a step without its deadline would wait for. The errors name the step timeout.
  const HANG_BOUND = 30 * STEP;
  const withStep = (server: FakeImapServer) => server.serverConfig({ stepTimeout: STEP });
  const timedOut = (err: unknown) => {
    assert.ok(err instanceof ImapConnectionError, String(err));
    assert.equal(err.problem, 'timeout', err.message);
    assert.match(err.message, /^fake: .*(no answer within|nothing for) 1 s \(servers\[\]\.stepTimeout\)/);
    return true;
  };

  for (const [what, options] of [
    ['accepts the connection and never greets', { ...silentAfterGreeting(), greeting: null }],
    ['greets and then never answers', silentAfterGreeting()],
    ['greets and then sends garbage, never an answer', garbageAfterGreeting()],
  ] as const) {
    test(`logging in to a server that ${what} fails within the step timeout`, { timeout: HANG_BOUND }, async () => {
      const server = await fakeServer(options);
      await assert.rejects(AdminSession.open(withStep(server)), timedOut);
    });
  }

  const loggedInThenSilent = (silentOn: string): FakeImapServerOptions => ({
    handlers: {
      [silentOn]: (c, conn) => {
        // The separator's `LIST "" ""` is answered: the session opens, the LIST after it hangs.
        if (silentOn === 'LIST' && c.args[1] === '') conn.write(`* LIST (\\Noselect) "." ""\r\n${c.tag} OK Completed\r\n`);
      },
    },
  });

  test('a LIST of users that never ends fails within the step timeout', { timeout: HANG_BOUND }, async () => {
    const server = await fakeServer(loggedInThenSilent('LIST'));
    const session = await AdminSession.open(withStep(server));
    await assert.rejects(discoverUsers(session, [compileUseridPattern('*')]), timedOut);
    assert.equal(session.usable, false);
  });

  test('a NOOP before XBACKUP that is never answered fails within the step timeout; XBACKUP is never sent', { timeout: HANG_BOUND }, async () => {
    const server = await fakeServer(loggedInThenSilent('NOOP'));
    const session = await AdminSession.open(withStep(server));
    await assert.rejects(runXbackup(session, 'user.alice', 'backup', { timeoutMs: 3_600_000, requested: ['alice'] }), timedOut);
    assert.ok(!server.commands.some((c) => c.name === 'XBACKUP'));
  });

  test("check's XBACKUP of nobody, never answered, fails within the step timeout", { timeout: HANG_BOUND }, async () => {
    const server = await fakeServer(loggedInThenSilent('XBACKUP'));
    const session = await AdminSession.open(withStep(server));
    const probe = await probeXbackup(session);
    assert.equal(probe.ok, false);
    assert.match(!probe.ok ? probe.message : '', /^fake: XBACKUP .*no tagged answer after 1 s/);
  });

  test('a LOGOUT that is never answered: close() returns within the step timeout and drops the connection', { timeout: HANG_BOUND }, async () => {
    const server = await fakeServer(loggedInThenSilent('LOGOUT'));
    const session = await AdminSession.open(withStep(server));
    await session.close();
    assert.equal(session.usable, false);
  });
});
