// Log lines: levels as words, one human line per record on a one-shot command's stderr, JSON for `run`,
// and on systemd's journal stream (JOURNAL_STREAM naming the very file descriptor written to) each line
// prefixed with its syslog priority, so `journalctl -p warning` shows the failures.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isJournalStream, journalPrefix } from '../../src/cli/journald.js';
import { logLineText } from '../../src/cli/output/log-line-text.js';
import { MAIN } from '../support/run-cli.js';
import { writeFlatBackupsDb, writeSyntheticBackup } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-log-lines-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = 'S3cret-Never-Logged';

describe('a log record as a line for people', () => {
  const cases: Array<[string, Record<string, unknown>, boolean, string]> = [
    ['a failed attempt', { level: 'warn', time: 0, msg: 'backup attempt', userid: 'sb', server: 'imap1', outcome: 'no', error: 'NO Mailbox does not exist' }, false,
      'warning: backup attempt (userid=sb server=imap1 outcome=no error="NO Mailbox does not exist")\n'],
    ['an error object: its message', { level: 'warn', msg: 'discovery failed', server: 'imap1', err: { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1', stack: 'Error: …\n    at x' } }, false,
      'warning: discovery failed (server=imap1 err="connect ECONNREFUSED 127.0.0.1:1")\n'],
    ['lists, numbers, no fields', { level: 'error', msg: 'users turned failing', users: 2, first: ['anne', 'bob'] }, false, 'error: users turned failing (users=2 first=anne,bob)\n'],
    ['nothing but the message', { level: 'info', msg: 'scheduler stopped', pid: 7, hostname: 'h' }, false, 'info: scheduler stopped\n'],
    ['a line break or a terminal control stays on one line', { level: 'debug', msg: 'a\nb', error: 'x\u001b[2Jy' }, false, 'debug: a\\u000ab (error="x\\u001b[2Jy")\n'],
    ['with the time, for run', { level: 'fatal', time: Date.parse('2026-12-01T12:00:00Z'), msg: 'x' }, true, '2026-12-01T12:00:00.000Z fatal: x\n'],
  ];
  for (const [what, record, time, expected] of cases) test(what, () => assert.equal(logLineText(record, { time }), expected));
});

describe('journald', () => {
  test('the priority prefix of each pino level (sd-daemon)', () => {
    assert.deepEqual([10, 20, 30, 40, 50, 60].map(journalPrefix), ['<7>', '<7>', '<6>', '<4>', '<3>', '<2>']);
  });

  test('a file descriptor is the journal stream only when JOURNAL_STREAM names its device and inode', () => {
    const file = join(dir, 'stream');
    writeFileSync(file, '');
    const other = join(dir, 'other');
    writeFileSync(other, '');
    const fd = openSync(file, 'a');
    try {
      const st = statSync(file, { bigint: true });
      assert.equal(isJournalStream(fd, `${st.dev}:${st.ino}`), true);
      const ot = statSync(other, { bigint: true });
      assert.equal(isJournalStream(fd, `${ot.dev}:${ot.ino}`), false, 'another file');
      for (const bad of [undefined, '', `${st.dev}`, `${st.dev}:${st.ino}x`, `x${st.dev}:${st.ino}`]) assert.equal(isJournalStream(fd, bad), false, String(bad));
    } finally {
      closeSync(fd);
    }
  });
});

describe('the CLI’s log lines, spawned', () => {
  let config = '';
  /** Each run starts without state: a server paused by the one before would not be asked again. */
  const withoutState = () => ['', '-wal', '-shm'].forEach((end) => rmSync(join(dir, `state.db${end}`), { force: true }));
  before(async () => {
    // A backup server of one user, and an IMAP server nobody listens on: every command that asks it warns.
    const files = join(dir, 'data', 'a', 'anne_X');
    writeSyntheticBackup(files, { chunkEnds: [1_700_000_000] });
    const conf = join(dir, 'imapd.conf');
    writeFileSync(conf, `configdirectory: ${dir}\nbackuppartition-default: ${join(dir, 'data')}\nbackup_db: flat\n`);
    writeFlatBackupsDb(join(dir, 'backups.db'), [['anne', files]]);
    const password = join(dir, 'admin.password');
    writeFileSync(password, `${SECRET}\n`, { mode: 0o600 });
    config = join(dir, 'config.yaml');
    const servers = `servers:\n  - name: imap1\n    host: 127.0.0.1\n    port: ${await closedPort()}\n    tls: none\n    user: admin\n    passwordFile: ${password}\n    channel: backup\n`;
    writeFileSync(config, `backupd:\n  imapdConf: ${conf}\nstate: ${join(dir, 'state.db')}\n${servers}`);
  });

  test('run: JSON lines with the level as a word; on the journal stream each begins with its priority', async () => {
    withoutState();
    const plain = await spawnCli(['run', '--once', '-c', config], { journal: null });
    const lines = plain.stdout.split('\n').filter(Boolean);
    assert.ok(lines.length > 0 && lines.every((l) => l.startsWith('{')), plain.stdout);
    const records = lines.map((l) => JSON.parse(l) as { level: string; msg: string });
    assert.equal(records.find((r) => r.msg === 'discovery failed')?.level, 'warn', plain.stdout);
    assert.equal(records.find((r) => r.msg === 'server paused')?.level, 'warn', plain.stdout);
    assert.equal(records.find((r) => r.msg === 'cycle start')?.level, 'info', plain.stdout);

    withoutState();
    const journal = await spawnCli(['run', '--once', '-c', config], { journal: 'stdout' });
    const prefixed = journal.stdout.split('\n').filter(Boolean);
    const priority: Record<string, string> = { debug: '<7>', info: '<6>', warn: '<4>', error: '<3>' };
    for (const line of prefixed) {
      const match = /^(<\d>)(\{.*\})$/.exec(line);
      assert.ok(match, `a priority, then the JSON line: ${line}`);
      assert.equal(match[1], priority[(JSON.parse(match[2]!) as { level: string }).level], line);
    }
    assert.ok(prefixed.some((l) => l.startsWith('<4>{') && l.includes('"msg":"server paused"')), journal.stdout);
    assert.ok(!`${plain.stdout}${journal.stdout}`.includes(SECRET));
  });

  test('JOURNAL_STREAM inherited but naming another stream (output redirected): plain lines', async () => {
    const other = join(dir, 'elsewhere');
    writeFileSync(other, '');
    const st = statSync(other, { bigint: true });
    withoutState();
    const run = await spawnCli(['run', '--once', '-c', config], { journal: null, env: { JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
    assert.ok(run.stdout.includes('"msg":"server paused"'), run.stdout);
    assert.ok(run.stdout.split('\n').filter(Boolean).every((l) => l.startsWith('{')), run.stdout);
  });

  test('a one-shot command: a human line on stderr, not JSON; --log-format json gives JSON; the journal gets the priority', async () => {
    const text = await spawnCli(['report', '-c', config], { journal: null });
    const warning = text.stderr.split('\n').find((l) => l.includes('discovery failed'));
    assert.match(warning ?? '', /^warning: discovery failed \(server=imap1 err="[^"]*ECONNREFUSED[^"]*"\)$/, text.stderr);
    assert.ok(!text.stderr.split('\n').some((l) => l.startsWith('{')), `no raw JSON on stderr:\n${text.stderr}`);
    assert.ok(!text.stderr.includes(SECRET));

    const json = await spawnCli(['report', '--log-format', 'json', '-c', config], { journal: null });
    const record = json.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string }).find((r) => r.msg === 'discovery failed');
    assert.equal(record?.level, 'warn', json.stderr);

    const journal = await spawnCli(['report', '-c', config], { journal: 'stderr' });
    assert.match(journal.stderr, /^<4>warning: discovery failed /m, journal.stderr);
  });
});

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let spawned = 0;

/**
 * Runs the built CLI with stdout and stderr in files, as systemd gives a unit a stream; with `journal`,
 * JOURNAL_STREAM names that one's device and inode, as systemd sets it.
 */
async function spawnCli(args: string[], options: { journal: 'stdout' | 'stderr' | null; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const n = spawned++;
  const files = { stdout: join(dir, `out-${n}`), stderr: join(dir, `err-${n}`) };
  const fds = { stdout: openSync(files.stdout, 'w'), stderr: openSync(files.stderr, 'w') };
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.journal === null) {
    if (!options.env?.JOURNAL_STREAM) delete env.JOURNAL_STREAM;
  } else {
    const st = statSync(files[options.journal], { bigint: true });
    env.JOURNAL_STREAM = `${st.dev}:${st.ino}`;
  }
  try {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', fds.stdout, fds.stderr] });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    return { code, stdout: readFileSync(files.stdout, 'utf8'), stderr: readFileSync(files.stderr, 'utf8') };
  } finally {
    closeSync(fds.stdout);
    closeSync(fds.stderr);
  }
}
