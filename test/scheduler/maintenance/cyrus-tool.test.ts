// The runner of Cyrus's tools against fake ctl_backups programs: what it runs (no shell, the prefix, `--`
// before the verb), what it reads, and what it does to one that hangs or floods it.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { OUTPUT_BASE_BYTES, OUTPUT_PER_BACKUP_BYTES, runCyrusTool, type CyrusToolCommand } from '../../../src/scheduler/maintenance/cyrus-tool.js';
import { waitFor } from '../../support/wait-for.js';
import { alive } from '../../support/process-alive.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-cyrus-tool-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fake ctl_backups: a shell script with `body`, after the arguments up to the verb are shifted off. */
function fake(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "$@" > ${file}.argv\nwhile [ "$1" != "--" ]; do shift; done; shift; verb=$1; shift\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const answerEach = (status: string) =>
  `for u in "$@"; do printf '{\\n  "command": "%s",\\n  "userid": "%s",\\n  "fname": "/d/%s",\\n  "status": "%s"\\n}\\n' "$verb" "$u" "$u" "${status}"; done`;

const command = (ctlBackups: string, over: Partial<CyrusToolCommand> = {}): CyrusToolCommand => ({ prefix: [], ctlBackups, imapdConf: '/etc/backupd.conf', timeoutMs: 60_000, ...over });

describe('runCyrusTool', () => {
  test('runs <prefix> ctl_backups -C <conf> -j -- <verb> <userids>, each word as it is, and reads every backup', async () => {
    const ctl = fake('ok', answerEach('ok'));
    const prefix = join(dir, 'prefix');
    writeFileSync(prefix, `#!/bin/sh\nprintf '%s\\n' "$@" > ${prefix}.argv\nwhile [ "$1" != "--" ]; do shift; done; shift; exec "$@"\n`);
    chmodSync(prefix, 0o755);
    const run = await runCyrusTool(command(ctl, { prefix: [prefix, '-u', 'cyrus', '--'] }), 'verify', ['anne', '-A', 'x y;$(id)']);
    assert.equal(run.problem, undefined, run.stderr);
    assert.deepEqual(readFileSync(`${prefix}.argv`, 'utf8').split('\n').slice(0, -1), ['-u', 'cyrus', '--', ctl, '-C', '/etc/backupd.conf', '-j', '--', 'verify', 'anne', '-A', 'x y;$(id)']);
    assert.deepEqual(run.outcomes.map((o) => [o.userid, o.status]), [['anne', 'ok'], ['-A', 'ok'], ['x y;$(id)', 'ok']]);
    assert.equal(run.exitCode, 0);
  });

  test('exit 75 (some skipped or not found) is no problem of the run: the outcomes say which', async () => {
    const ctl = fake('skipped', `${answerEach('skipped')}\necho "ghost: not found in backups.db" >&2\nexit 75`);
    const run = await runCyrusTool(command(ctl), 'compact', ['anne', 'ghost']);
    assert.equal(run.problem, undefined);
    assert.deepEqual(run.outcomes.map((o) => o.status), ['skipped', 'skipped']);
    assert.equal(run.exitCode, 75);
  });

  test('any other exit is a problem of the run, with what it said; unanswered backups are no-answer', async () => {
    const ctl = fake('fatal', `echo "fatal error: can't open configuration file /etc/backupd.conf: Permission denied" >&2\nexit 78`);
    const run = await runCyrusTool(command(ctl), 'verify', ['anne']);
    assert.match(run.problem ?? '', /exited 78: fatal error: can't open configuration file/);
    assert.deepEqual(run.outcomes.map((o) => o.status), ['no-answer']);
  });

  test('a program that cannot be started is a problem, not a throw', async () => {
    const run = await runCyrusTool(command(join(dir, 'no-such-ctl_backups')), 'verify', ['anne']);
    assert.match(run.problem ?? '', /could not start .*no-such-ctl_backups: ENOENT/);
  });

  test('past maintenance.timeout its whole process group is killed, SIGTERM ignored or not', async () => {
    const pids = join(dir, 'pids');
    // verify loops forever on some damaged chunks; this one also ignores SIGTERM and leaves a child behind.
    const ctl = fake('hang', `trap '' TERM\nsleep 600 & echo $! > ${pids}\nwhile :; do sleep 1; done`);
    const run = await runCyrusTool(command(ctl, { timeoutMs: 300 }), 'verify', ['anne']);
    assert.match(run.problem ?? '', /ran longer than maintenance\.timeout, 0\.3 s: killed/);
    assert.deepEqual(run.outcomes.map((o) => o.status), ['no-answer']);
    const child = Number(readFileSync(pids, 'utf8'));
    await waitFor(() => !alive(child), { what: `the fake's own child (pid ${child}) killed`, timeoutMs: 20_000 });
  });

  test('output without end is cut off at its bound and the run stopped: memory stays bounded', async () => {
    const ctl = fake('flood', `exec yes '{"command":"verify","userid":"anne","status":"ok"}'`);
    const run = await runCyrusTool(command(ctl), 'verify', ['anne']);
    const bound = OUTPUT_BASE_BYTES + OUTPUT_PER_BACKUP_BYTES;
    assert.match(run.problem ?? '', new RegExp(`printed more than ${bound} bytes`));
    assert.deepEqual(run.outcomes.map((o) => o.status), ['no-answer']);
    assert.ok(run.stray.join('').length <= bound, 'what was kept is within the bound');
  });

  test('the scheduler\'s environment (IMAP passwords of passwordEnv) is not passed on', async () => {
    const ctl = fake('env', `env >&2\n${answerEach('ok')}`);
    const run = await runCyrusTool(command(ctl), 'verify', ['anne'], { env: { PATH: '/usr/bin:/bin', IMAP1_PASSWORD: 'hunter2' } });
    assert.equal(run.problem, undefined);
    assert.ok(!run.stderr.includes('hunter2'), run.stderr);
    assert.match(run.stderr, /PATH=\/usr\/bin:\/bin/);
  });

  test('an abort (the scheduler stopping) kills the run', async () => {
    const ctl = fake('slow', 'while :; do sleep 1; done');
    const abort = new AbortController();
    const running = runCyrusTool(command(ctl), 'compact', ['anne'], { signal: abort.signal });
    await waitFor(() => { try { return readFileSync(`${ctl}.argv`, 'utf8') !== ''; } catch { return false; } }, { what: 'the fake started', timeoutMs: 20_000 });
    abort.abort();
    assert.match((await running).problem ?? '', /cut short: the scheduler is stopping/);
  });
});
