import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DeliveryError } from '../../src/notify/delivery-queue.js';
import { eventBody, eventEnvironment } from '../../src/notify/event.js';
import { hookEnvironment, runHookCommand } from '../../src/notify/exec-hook.js';
import { waitFor } from '../support/wait-for.js';
import { alive } from '../support/process-alive.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-exec-hook-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const never = new AbortController().signal;

describe('the exec hook', () => {
  test('gets the event as XBS_ variables and a few of the scheduler\'s own, never the rest (passwords)', async () => {
    const out = join(dir, 'env');
    const body = eventBody({ kind: 'server.paused', server: 'imap1', error: 'NO Retry operation', pausedUntil: null }, Date.parse('2026-12-01T10:00:00Z'), 'backup1');
    const env = hookEnvironment(eventEnvironment(body), { PATH: '/usr/bin:/bin', IMAP1_PASSWORD: 'hunter2', LANG: 'C.UTF-8' });
    await runHookCommand({ command: ['/bin/sh', '-c', `env > ${out}`], env, timeoutMs: 30_000, signal: never });
    const seen = new Map(readFileSync(out, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(seen.get('XBS_EVENT'), 'server.paused');
    assert.equal(seen.get('XBS_SERVER'), 'imap1');
    assert.equal(seen.get('XBS_ERROR'), 'NO Retry operation');
    assert.equal(seen.get('XBS_PAUSED_UNTIL'), '');
    assert.equal(seen.get('XBS_HOST'), 'backup1');
    assert.equal(seen.get('XBS_VERSION'), '1');
    assert.equal(JSON.parse(seen.get('XBS_JSON')!).event, 'server.paused');
    assert.equal(seen.get('PATH'), '/usr/bin:/bin');
    assert.equal(seen.get('LANG'), 'C.UTF-8');
    assert.equal(seen.has('IMAP1_PASSWORD'), false);
  });

  test('runs no shell: a word with shell syntax is one argument', async () => {
    const out = join(dir, 'args');
    await runHookCommand({ command: ['/bin/sh', '-c', 'printf "%s|" "$@" > "$0"', out, '$(touch /tmp/xbs-nope); x', '*'], env: {}, timeoutMs: 30_000, signal: never });
    assert.equal(readFileSync(out, 'utf8'), '$(touch /tmp/xbs-nope); x|*|');
  });

  test('a non-zero exit fails, with what it said; a command that cannot start says why', async () => {
    await assert.rejects(runHookCommand({ command: ['/bin/sh', '-c', 'echo no route >&2; exit 3'], env: {}, timeoutMs: 30_000, signal: never }), (err: unknown) => {
      assert.ok(err instanceof DeliveryError);
      assert.equal(err.message, '/bin/sh exited 3: no route');
      assert.equal(err.retryable, false);
      return true;
    });
    await assert.rejects(runHookCommand({ command: ['/nonexistent/hook'], env: {}, timeoutMs: 30_000, signal: never }), /could not start \/nonexistent\/hook: ENOENT/);
  });

  test('past its timeout it is killed, and so is what it started', async () => {
    const pids = join(dir, 'pids');
    const run = runHookCommand({ command: ['/bin/sh', '-c', `sleep 600 & echo $! > ${pids}; wait`], env: { PATH: '/usr/bin:/bin' }, timeoutMs: 1000, signal: never });
    await assert.rejects(run, /ran longer than its timeout, 1 s: killed/);
    const child = Number(readFileSync(pids, 'utf8'));
    await waitFor(() => !alive(child), { what: `the hook's own child (pid ${child}) killed`, timeoutMs: 10_000 });
  });

  test('one that ignores SIGTERM is killed with SIGKILL after the grace', async () => {
    const ready = join(dir, 'ready');
    const run = runHookCommand({ command: ['/bin/sh', '-c', `trap "" TERM; touch ${ready}; while :; do sleep 1; done`], env: { PATH: '/usr/bin:/bin' }, timeoutMs: 1000, signal: never });
    await waitFor(() => existsSync(ready), { what: 'the hook started', timeoutMs: 10_000 });
    await assert.rejects(run, /killed/);
  });
});

describe('the exec hook, left running', () => {
  test('a command that exits 0 leaving a child that holds its output open does not keep the scheduler\'s process alive', async () => {
    const pids = join(dir, 'bg-pids');
    const hook = new URL('../../src/notify/exec-hook.js', import.meta.url).href;
    // A process of its own, as `run --once` is: it must end once the hook has, whatever the hook left running.
    const script = `const { runHookCommand } = await import(${JSON.stringify(hook)});
await runHookCommand({ command: ['/bin/sh', '-c', 'sleep 600 & echo $! > ${pids}'], env: { PATH: '/usr/bin:/bin' }, timeoutMs: 30000, signal: new AbortController().signal });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
    let code: number | null | undefined;
    child.on('exit', (c) => (code = c));
    try {
      await waitFor(() => code !== undefined, { what: 'the process that ran the hook to end', timeoutMs: 60_000 });
      assert.equal(code, 0);
    } finally {
      child.kill('SIGKILL');
      // The hook's child is the admin's business; this test's own cleanup ends it.
      if (existsSync(pids)) process.kill(Number(readFileSync(pids, 'utf8')), 'SIGKILL');
    }
  });
});
