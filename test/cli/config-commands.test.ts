import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { redactConfig } from '../../src/config/redact.js';
import { AttemptLog } from '../../src/scheduler/state/attempt-log.js';
import { openStateDb } from '../../src/scheduler/state/open-state-db.js';
import { runCliInProcess } from '../support/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-config-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PASSWORD = 'S3cret-imap-Passw0rd';
const ENV_PASSWORD = 'env-Passw0rd-9f8e7d';
const TOKEN = 'http-T0ken-abc123';
writeFileSync(join(dir, 'imap1.password'), `${PASSWORD}\n`);
chmodSync(join(dir, 'imap1.password'), 0o600);
writeFileSync(join(dir, 'http.token'), `${TOKEN}\n`);
chmodSync(join(dir, 'http.token'), 0o600);

/** A listener that only counts who connects: any connection would be the command going online. */
const listener = createServer((socket) => {
  connections++;
  socket.destroy();
});
let connections = 0;
await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
after(() => listener.close());
const port = (listener.address() as AddressInfo).port;

const config = (servers: string) => `backupd:
  imapdConf: ${join(dir, 'no-such', 'imapd.conf')}
  ctlBackups: ${join(dir, 'no-such', 'ctl_backups')}
state: state.db
servers:
${servers}
policy:
  maxAge: 90m
bootstrap:
  maxGroupBytes: 12MB
http:
  listen: 9465
  tokenFile: http.token
`;
const SERVERS = `  - name: imap1
    host: 127.0.0.1
    port: ${port}
    tls: none
    user: admin
    passwordFile: imap1.password
  - name: imap2
    host: localhost
    port: ${port}
    tls: none
    user: admin
    passwordEnv: XBS_TEST_IMAP2_PASSWORD
`;
const good = join(dir, 'good.yaml');
writeFileSync(good, config(SERVERS));
const bad = join(dir, 'bad.yaml');
writeFileSync(bad, config(SERVERS).replace('maxAge: 90m', 'maxAge: 90 minutes').replace('user: admin\n    passwordEnv', 'user: admin\n    maxConcurent: 2\n    passwordEnv'));

test('config validate checks a file offline: no server is contacted, no Cyrus, password or token file read', async () => {
  const missingPassword = join(dir, 'offline.yaml');
  writeFileSync(missingPassword, config(SERVERS).replace('passwordFile: imap1.password', 'passwordFile: no-such.password'));
  const result = await runCliInProcess(['config', 'validate', '-c', missingPassword]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `${missingPassword}: valid, 2 IMAP servers\n`);
  assert.equal(connections, 0);
});

test('config validate: the loader\'s file:line: key: errors, exit 2; as JSON with --json', async () => {
  const result = await runCliInProcess(['config', 'validate', '-c', bad]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, new RegExp(`${bad}:17: servers\\[1\\]\\.maxConcurent: unknown key`));
  assert.match(result.stderr, new RegExp(`${bad}:\\d+: policy\\.maxAge: "90 minutes" is not a duration`));
  const json = await runCliInProcess(['config', 'validate', '--json', '-c', bad]);
  assert.equal(json.code, 2);
  const doc = JSON.parse(json.stdout) as { valid: boolean; errors: Array<{ line: number; key: string }> };
  assert.equal(doc.valid, false);
  assert.deepEqual(doc.errors.map((e) => e.key).sort(), ['policy.maxAge', 'servers[1].maxConcurent']);
  assert.equal(connections, 0);
});

test('config show: defaults filled in, in the file\'s own terms, paths absolute, secret files named and never read; loads again as it is', async () => {
  const result = await runCliInProcess(['config', 'show', '-c', good]);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!result.stdout.includes(PASSWORD) && !result.stdout.includes(TOKEN));
  const shown = parse(result.stdout) as Record<string, Record<string, unknown>> & { servers: Array<Record<string, unknown>> };
  assert.equal(shown.state as unknown, join(dir, 'state.db'));
  assert.equal(shown.policy!.maxAge, '1h30m');
  assert.equal(shown.policy!.maxUnchangedAge, '7d');
  assert.equal(shown.bootstrap!.maxGroupBytes, '12MB');
  assert.equal(shown.http!.listen, '127.0.0.1:9465');
  assert.equal(shown.http!.tokenFile, join(dir, 'http.token'));
  assert.equal(shown.servers[0]!.passwordFile, join(dir, 'imap1.password'));
  assert.equal(shown.servers[0]!.port, port);
  assert.equal(shown.servers[1]!.channel, 'backup');
  assert.deepEqual(Object.keys(shown.servers[0]!).filter((k) => /password|token/i.test(k)), ['passwordFile']);

  const again = join(dir, 'shown.yaml');
  writeFileSync(again, result.stdout);
  const reshown = await runCliInProcess(['config', 'show', '--json', '-c', again]);
  assert.equal(reshown.code, 0, reshown.stderr);
  assert.deepEqual(JSON.parse(reshown.stdout), shown);
});

test('redactConfig: credential keys and the paths, queries and user parts of URLs, in any section', () => {
  const redacted = redactConfig({
    notify: {
      webhook: { url: 'https://hooks.example.com/services/T000/B000/XyZsEcReT', headers: { 'X-Api': 'h3ader-secret' } },
      ping: 'https://user:pa55@hc.example.com:8443/ping/0f1e2d3c?x=1',
      apiKey: 'k3y',
      command: 'curl -s https://api.example.com/v1?token=qUeRy-SeCrEt',
      plain: 'https://example.com/',
    },
    http: { tokenFile: '/etc/x/http.token', token: 'b34rer' },
    servers: [{ passwordFile: '/etc/x/pw', passwordEnv: 'IMAP_PW', password: 'inline' }],
  });
  const text = JSON.stringify(redacted);
  for (const secret of ['XyZsEcReT', 'h3ader-secret', 'pa55', 'user:', '0f1e2d3c', 'k3y', 'qUeRy-SeCrEt', 'b34rer', 'inline']) assert.ok(!text.includes(secret), secret);
  assert.deepEqual(redacted, {
    notify: {
      webhook: { url: 'https://hooks.example.com/[redacted]', headers: '[redacted]' },
      ping: 'https://hc.example.com:8443/[redacted]',
      apiKey: '[redacted]',
      command: 'curl -s https://api.example.com/[redacted]',
      plain: 'https://example.com',
    },
    http: { tokenFile: '/etc/x/http.token', token: '[redacted]' },
    servers: [{ passwordFile: '/etc/x/pw', passwordEnv: 'IMAP_PW', password: '[redacted]' }],
  });
});

test('diagnose: one JSON document with versions, config, check, attempts and state figures, and no secret in it', async () => {
  const db = openStateDb(join(dir, 'state.db'));
  const log = new AttemptLog(db);
  const [a, b] = log.start([
    { userid: 'anne.smith@example.com', server: 'imap1', kind: 'refresh', group: null, pattern: 'anne.smith@example.com', startedAt: 1_000, chunkBefore: 1 },
    { userid: 'bob', server: 'imap2', kind: 'first', group: 1, pattern: 'bob', startedAt: 2_000, chunkBefore: 0 },
  ]);
  const end = { locked: false, inDoubt: false, chunkAfter: null, pattern: null };
  log.end([
    [a!, { ...end, endedAt: 1_500, outcome: 'ok', error: null }],
    [b!, { ...end, endedAt: 2_500, outcome: 'no', error: 'XBACKUP bob: NO Mailbox user.bob is locked' }],
  ]);
  db.close();

  process.env.XBS_TEST_IMAP2_PASSWORD = ENV_PASSWORD;
  const result = await runCliInProcess(['diagnose', '-c', good]);
  delete process.env.XBS_TEST_IMAP2_PASSWORD;
  assert.equal(result.code, 0, result.stderr);
  for (const secret of [PASSWORD, ENV_PASSWORD, TOKEN, 'anne.smith', 'user.bob', ' bob']) assert.ok(!result.stdout.includes(secret), `${secret} is in the document`);
  const doc = JSON.parse(result.stdout);
  assert.equal(doc.tool.name, 'xbackup-scheduler');
  assert.equal(doc.node, process.version);
  assert.equal(doc.config.effective.servers[0].passwordFile, join(dir, 'imap1.password'));
  assert.deepEqual(doc.check.map((l: { verdict: string; what: string }) => `${l.verdict} ${l.what}`), [
    'PASS config',
    'PASS policy.schedule',
    'FAIL backup server config',
    'FAIL imap1 login',
    'FAIL imap2 login',
  ]);
  assert.deepEqual(doc.attempts.byOutcome, { ok: 1, no: 1 });
  assert.deepEqual(doc.attempts.recent.map((r: { user: string; error: string | null }) => [r.user, r.error]), [
    ['user-1', 'XBACKUP user-1: NO Mailbox user.user-1 is locked'],
    ['user-2', null],
  ]);
  assert.equal(doc.stateDb.exists, true);
  assert.equal(doc.stateDb.schemaVersion, doc.stateDb.knownSchemaVersion);
  assert.equal(doc.stateDb.rowsPerTable.attempt, 2);
  assert.ok('error' in doc.cyrus.backupServer, 'cyr_info beside a ctl_backups that does not exist');

  const named = JSON.parse((await runCliInProcess(['diagnose', '--userids', '-c', good])).stdout);
  assert.deepEqual(named.attempts.recent.map((r: { user: string }) => r.user), ['bob', 'anne.smith@example.com']);
});
