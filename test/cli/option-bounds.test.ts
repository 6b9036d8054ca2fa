import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCliInProcess } from '../support/run-cli.js';

// Refused while the command line is read: no config file is needed (none exists at the default path here).
// A Nagios check says it on stdout too, as UNKNOWN (exit 3), as the plugin guidelines want.
const refusals: Array<[args: string[], message: RegExp]> = [
  [['report', '--max-age', '0s'], /--max-age.*0s is below the least backup age that can work, 1s: Cyrus's chunk times are whole seconds/],
  [['report', '--format', 'nagios', '--warn-age', '0s'], /--warn-age.*0s is below the least backup age that can work, 1s/],
  [['report', '--format', 'nagios', '--crit-age', '200ms'], /--crit-age.*200ms is below the least backup age that can work, 1s/],
  [['bootstrap', '--max-group-bytes', '0'], /--max-group-bytes.*0 is below the least group size in bytes that can work, 1B/],
];

for (const [args, message] of refusals) {
  test(`${args.join(' ')}: a usage error saying the least value that works`, async () => {
    const run = await runCliInProcess([...args, '-c', '/nonexistent/config.yaml']);
    const nagios = args.includes('nagios');
    assert.equal(run.code, nagios ? 3 : 2, run.stdout + run.stderr);
    assert.match(run.stderr, message);
    if (nagios) assert.match(run.stdout, /^XBACKUP UNKNOWN - /);
  });
}

test('the least values themselves are accepted as options (the run then stops at the missing config)', async () => {
  const run = await runCliInProcess(['report', '--max-age', '1s', '-c', '/nonexistent/config.yaml']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /no such file/);
  assert.doesNotMatch(run.stderr, /below the least/);
});
