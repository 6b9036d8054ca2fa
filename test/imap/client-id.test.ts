import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { AdminSession } from '../../src/imap/admin-session.js';
import { repoRoot } from '../support/paths.js';
import { FakeImapServer } from './support/fake-imap-server.js';

const servers: FakeImapServer[] = [];
after(async () => void (await Promise.all(servers.map((s) => s.stop()))));

test('the IMAP ID names this tool and its package version, not imapflow', async () => {
  const server = await FakeImapServer.start();
  servers.push(server);
  const session = await AdminSession.open(server.serverConfig());
  await session.close();
  const version = (JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string }).version;
  const ids = server.commands.filter((c) => c.name === 'ID');
  assert.ok(ids.length > 0, 'the fake server announces ID, so the client sends it');
  for (const id of ids) {
    // The fake server splits a parenthesised list at spaces only: the parentheses and quotes stay on.
    const fields = id.args.map((a) => a.replace(/^\(|\)$/g, '').replace(/^"(.*)"$/, '$1')).filter((a) => a !== '');
    const pairs = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) pairs.set(fields[i]!, fields[i + 1]!);
    assert.deepEqual(Object.fromEntries(pairs), { name: 'xbackup-scheduler', version }, `ID ${id.args.join(' ')}`);
  }
});
