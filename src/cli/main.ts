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

// A reader that goes away (`report --json | head -c 300`, `history | head -1`) ends the output, not the
// command: what is left to write is dropped, quietly, and the command ends with its own exit code (0 when
// all went well), where an unhandled EPIPE would crash it with a stack trace. Node ignores SIGPIPE, so it
// cannot die of it as git or coreutils do (status 141); and a command doing work (backup, bootstrap) is
// better left to finish it than cut off by whoever reads its output.
const open = { stdout: true, stderr: true };
for (const name of ['stdout', 'stderr'] as const) {
  process[name].on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    open[name] = false;
  });
}

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => void (open.stdout && process.stdout.write(text)),
  stderr: (text) => void (open.stderr && process.stderr.write(text)),
  env: process.env,
});
process.exitCode = code;
