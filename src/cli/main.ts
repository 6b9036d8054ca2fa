#!/usr/bin/env node
// The Node.js check comes before anything else loads: older releases lack what the modules import
// (zlib.crc32 came in 20.15), which would otherwise end in an obscure SyntaxError.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 15)) {
  process.stderr.write(`error: xbackup-scheduler needs Node.js 20.15 or later; this is ${process.version}\n`);
  process.exit(2);
}
const { sqliteModuleProblem } = await import('./sqlite-module.js');
const sqliteProblem = await sqliteModuleProblem();
if (sqliteProblem !== undefined) {
  process.stderr.write(`error: ${sqliteProblem}\n`);
  process.exit(3);
}
const { runCli } = await import('./program.js');

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
process.exitCode = code;
