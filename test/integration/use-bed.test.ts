// test/support/use-bed.ts: its `after` hook stops the bed however the setup and teardown went.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runProcess } from '../support/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-use-bed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a setup that fails halfway and a teardown that throws still leave the bed stopped and the scratch dir gone', async () => {
  // In a process of its own, since its hooks are meant to fail. Its 'exit' listener, added before any bed
  // starts, runs before the bed's own exit-time cleanup (listeners run in order), so it sees what useBed left.
  const file = join(dir, 'failing-setup.test.mjs');
  writeFileSync(
    file,
    [
      "import { existsSync, writeSync } from 'node:fs';",
      "import { test } from 'node:test';",
      `import { useBed } from ${JSON.stringify(new URL('../support/use-bed.js', import.meta.url).href)};`,
      'let seen;',
      "process.on('exit', () => writeSync(1, 'LEFT ' + JSON.stringify({ ...seen, bedDirLeft: existsSync(seen.bedDir), workLeft: existsSync(seen.work) }) + '\\n'));",
      'const { bed, work } = useBed({',
      "  scratch: 'xbs-use-bed-child-',",
      '  config: {},',
      '  async setup() {',
      "    await bed.createUser('anne');",
      '    seen = { bedDir: bed.dir, work };',
      "    throw new Error('deliberate: setup failed halfway');",
      '  },',
      "  teardown() { throw new Error('deliberate: teardown failed'); },",
      '});',
      "test('needs the bed', () => bed.imap);",
    ].join('\n'),
  );
  // Without NODE_TEST_CONTEXT, which would make the child talk to this file's test runner instead.
  const r = await runProcess([process.execPath, '--test-reporter=spec', file], { env: { NODE_TEST_CONTEXT: undefined }, timeoutMs: 120_000 });
  assert.notEqual(r.code, 0, `the failing hooks fail the run\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /deliberate: setup failed halfway/);
  assert.match(r.stdout, /deliberate: teardown failed/);
  const left = /^LEFT (.*)$/m.exec(r.stdout);
  assert.ok(left, `no report from the child\n${r.stdout}${r.stderr}`);
  const seen = JSON.parse(left[1]!) as { bedDir: string; work: string; bedDirLeft: boolean; workLeft: boolean };
  assert.match(seen.bedDir, /xbs-testbed-/);
  assert.match(seen.work, /xbs-use-bed-child-/);
  assert.deepEqual({ bedDirLeft: seen.bedDirLeft, workLeft: seen.workLeft }, { bedDirLeft: false, workLeft: false });
});
