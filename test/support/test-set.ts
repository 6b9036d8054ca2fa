// Which set of test files this run is: scripts/run-tests.mjs sets XBS_TEST_SET=unit for `npm run test:unit`.

/**
 * A `skip` option for the few in-process tests whose work takes tens of seconds of CPU (a million
 * lines through the IMAP parser, say): left out of the quick unit run, which is meant to take well
 * under a minute, and run by `npm test`.
 */
export function longForUnitRun(env: NodeJS.ProcessEnv = process.env): string | false {
  return env.XBS_TEST_SET === 'unit' ? 'tens of seconds of CPU: npm test runs it, npm run test:unit does not' : false;
}
