import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { repoRoot } from '../support/paths.js';
import { runCliProcess, startCliProcess } from '../support/run-cli.js';
import { waitFor } from '../support/wait-for.js';
import { useBed } from '../support/use-bed.js';


describe('run lifecycle and bootstrap options, against real Cyrus', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-lifecycle-',
    async setup() {
      for (const u of ['h1', 'h2', 'c1', 'c2', 'p1', 'p2', 'p3']) await bed.createUser(u, { messages: 3 });
    },
  });

  test('SIGHUP reloads a good config and refuses a bad one, keeping the old one running', async () => {
    const dir = join(work, 'hup');
    const config = writeBedConfig(bed, dir, { servers: [{ which: 'imap1', settings: { users: ['h*'] } }], extra: 'policy:\n  schedule: "0 0 1 1 *"\n' });
    const running = startCliProcess(['run', '-c', config]);
    // Each wait is for a line of its log; the bound only ends a hang.
    const logged = (what: string, line: RegExp) => waitFor(() => line.test(running.output().stdout), { what, timeoutMs: 60_000, describe: () => running.output().stdout.slice(-2000) });
    try {
      await logged('the first cycle', /"msg":"cycle end"/);
      const good = readFileSync(config, 'utf8');
      writeFileSync(config, good.replace('maxAge', 'maxAge').replace('schedule: "0 0 1 1 *"', 'schedule: "0 0 2 1 *"'));
      running.child.kill('SIGHUP');
      await logged('the reload', /"msg":"config reloaded"/);

      writeFileSync(config, `${good}bogus: 1\n`);
      running.child.kill('SIGHUP');
      await logged('the refusal', /"msg":"config reload refused; the old config stays in force"/);
      assert.match(running.output().stdout, /bogus: unknown key/);
      assert.equal(running.child.exitCode, null, 'still running');
    } finally {
      running.child.kill('SIGTERM');
    }
    assert.equal(await running.exited, 0, running.output().stderr);
    assert.equal(statSync(join(dir, 'state.db')).mode & 0o777, 0o600, 'the state database is readable by its owner only');
  });

  test('bootstrap.compactAfter runs ctl_backups compact on each finished group', async () => {
    const config = writeBedConfig(bed, join(work, 'compact'), {
      servers: [{ which: 'imap1', settings: { users: ['c*'] } }],
      extra: 'bootstrap:\n  groupSize: 1\n  pause: 0s\n  compactAfter: true\n',
    });
    const run = await runCliProcess(['bootstrap', '-v', '-c', config]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    // One-shot commands log human lines (41bbd02); right after a first backup there is nothing to compact.
    assert.match(run.stderr, /compacted the group's backups \(compacted=0 skipped=1\)/);
    assert.equal((run.stderr.match(/compacted the group's backups/g) ?? []).length, 2, 'once per group');
  });

  test('on a terminal, bootstrap shows a progress bar with users, bytes, group and ETA', () => {
    const config = writeBedConfig(bed, join(work, 'tty'), { servers: [{ which: 'imap1', settings: { users: ['p*'] } }], extra: 'bootstrap:\n  groupSize: 2\n  pause: 0s\n' });
    // script(1) gives the command a pseudo-terminal, as an admin's shell would.
    const screen = execFileSync('script', ['-qec', `${process.execPath} ${join(repoRoot, 'dist/src/cli/main.js')} bootstrap -c ${config}`, '/dev/null'], { encoding: 'utf8' });
    assert.match(screen, /bootstrap \[[█░ =-]*\] 3\/3 users \| [\d.]+KiB\/[\d.]+KiB \| group 2 \| ETA/);
    assert.match(screen, /bootstrap: 3 ok, 0 failed, 0 left for later/);
  });
});
