// What the hostile-server tests share: fake servers stopped after each file, one XBACKUP run against a
// fake server's answer, and a paced stream of lines for the answers that never end.
import assert from 'node:assert/strict';
import { AdminSession } from '../../../src/imap/admin-session.js';
import { userOutcomes, type UserOutcome } from '../../../src/imap/user-outcome.js';
import { runXbackup, type XbackupRun } from '../../../src/imap/xbackup.js';
import { FakeImapServer, type CommandHandler, type FakeConnection, type FakeImapServerOptions } from './fake-imap-server.js';

const servers: FakeImapServer[] = [];

/** Starts a fake server that stopFakeServers() will stop. */
export async function fakeServer(options: FakeImapServerOptions): Promise<FakeImapServer> {
  const server = await FakeImapServer.start(options);
  servers.push(server);
  return server;
}

/** For a test file's after(): stops every fake server it started. */
export async function stopFakeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
}

export interface Result {
  run: XbackupRun;
  outcomes: Map<string, UserOutcome>;
  session: AdminSession;
  server: FakeImapServer;
}

/** Opens a session on a fake server whose XBACKUP answer is `reply`, runs one XBACKUP for `requested`. */
export async function xbackup(reply: CommandHandler, requested: readonly string[] = ['alice'], options: { timeoutMs?: number; handlers?: Record<string, CommandHandler> } = {}): Promise<Result> {
  const server = await fakeServer({ handlers: { XBACKUP: reply, ...options.handlers } });
  const session = await AdminSession.open(server.serverConfig());
  const result = await runOn(session, requested, options.timeoutMs);
  return { ...result, server };
}

export async function runOn(session: AdminSession, requested: readonly string[], timeoutMs = 10_000): Promise<Omit<Result, 'server'>> {
  const pattern = requested.length === 1 ? `user.${requested[0]}` : 'user.*';
  const run = await runXbackup(session, pattern, 'backup', { timeoutMs, requested });
  const outcomes = userOutcomes(run, requested);
  assert.deepEqual(outcomes.map((o) => o.userid), [...requested], 'one outcome per requested user, nobody else');
  return { run, outcomes: new Map(outcomes.map((o) => [o.userid, o])), session };
}

export const ok = (o: UserOutcome | undefined) => o?.outcome === 'ok';

export const MiB = 1024 * 1024;
export const mb = (bytes: number) => `${(bytes / MiB).toFixed(0)} MB`;

/**
 * Writes `count` lines made by `line`, a thousand per write, each write waiting until the socket took it
 * (so the client's reading paces it); resolves with how many went onto the socket before the client left.
 */
export async function stream(conn: FakeConnection, count: number, line: (i: number) => string): Promise<number> {
  for (let i = 0; i < count; i += 1000) {
    let chunk = '';
    for (let j = i; j < Math.min(count, i + 1000); j++) chunk += line(j);
    if (!(await conn.writeAndDrain(chunk))) return i;
  }
  return count;
}
