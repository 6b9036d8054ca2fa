// `check` and `report --format nagios` against an IMAP server that greets and then says nothing, or
// only garbage (which keeps the connection busy, so no inactivity timeout fires): both finish, naming
// the server and servers[].stepTimeout (2 s here), instead of waiting for ever or for imapflow's
// 5-minute socket timeout.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeImapServer, garbageAfterGreeting, silentAfterGreeting } from '../imap/support/fake-imap-server.js';
import { runCliProcess } from '../support/run-cli.js';
import { writeFlatBackupsDb, writeSyntheticBackup } from '../support/synthetic-backup.js';

const STEP_S = 2;
/**
 * A bound on a hang, not a measure: far above a few step timeouts and a process start on a busy machine,
 * well below the 5 minutes of imapflow's own socket timeout that a missing step deadline would wait for.
 */
const BOUND_MS = 120_000;
const env = { HUNG_PASSWORD: 'secret' };

const dir = mkdtempSync(join(tmpdir(), 'xbs-hung-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A backup server with anne backed up a minute ago, and one IMAP server: `hung`, on `port`. */
function writeConfig(name: string, port: number): string {
  const data = join(dir, name, 'data');
  const file = join(data, 'a', 'anne_X');
  writeSyntheticBackup(file, { chunkEnds: [Math.floor(Date.now() / 1000) - 60] });
  writeFlatBackupsDb(join(dir, name, 'backups.db'), [['anne', file]]);
  const conf = join(dir, name, 'imapd.conf');
  writeFileSync(conf, `configdirectory: ${join(dir, name)}\nbackuppartition-default: ${data}\nbackup_db: flat\n`);
  const config = join(dir, name, 'config.yaml');
  writeFileSync(
    config,
    `backupd:\n  imapdConf: ${conf}\nstate: ${join(dir, name, 'state.db')}\n` +
      `servers:\n  - { name: hung, host: 127.0.0.1, port: ${port}, tls: none, user: admin, passwordEnv: HUNG_PASSWORD, stepTimeout: ${STEP_S}s }\n`,
  );
  return config;
}

for (const [what, options] of [
  ['greets and then never answers', silentAfterGreeting()],
  ['greets and then sends only garbage', garbageAfterGreeting()],
] as const) {
  describe(`an IMAP server that ${what}`, () => {
    let server: FakeImapServer;
    let config: string;
    before(async () => {
      server = await FakeImapServer.start(options);
      config = writeConfig(what.replace(/\W+/g, '-'), server.port);
    });
    after(() => server?.stop());

    test('check finishes with a FAIL for its login that names it and the step timeout', async () => {
      const r = await runCliProcess(['check', '-c', config], { env, timeoutMs: BOUND_MS });
      assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^FAIL hung login: hung: .*no answer within 2 s \(servers\[\]\.stepTimeout\)/m, r.stdout);
    });

    test('plan finishes, and a dry run pauses no server', async () => {
      const r = await runCliProcess(['plan', '-c', config], { env, timeoutMs: BOUND_MS });
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
      assert.match(r.stderr + r.stdout, /hung: logging in got no answer within 2 s \(servers\[\]\.stepTimeout\)/);
      const db = new Database(join(dir, what.replace(/\W+/g, '-'), 'state.db'), { readonly: true });
      try {
        assert.deepEqual(db.prepare('SELECT * FROM server_state').all(), []);
      } finally {
        db.close();
      }
    });

    test('report --format nagios finishes with a WARNING that names it', async () => {
      const r = await runCliProcess(['report', '--format', 'nagios', '-c', config], { env, timeoutMs: BOUND_MS });
      assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^XBACKUP WARNING - could not ask hung for its users; oldest .+ \(anne\) \|/, r.stdout);
    });
  });
}
