import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Where Debian's cyrus-common installs the admin tools. */
export const CYRUS_BIN = '/usr/lib/cyrus/bin';

export interface Account {
  uid: number;
  gid: number;
}

/** uid and primary gid (mail) of the cyrus user: Cyrus tools refuse to run as root, and its files must be its own. */
export function cyrusAccount(): Account {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('cyrus:'));
  if (!line) throw new Error('there is no cyrus user: apt-get install -y cyrus-imapd cyrus-common');
  const fields = line.split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

export interface CyrusToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of Cyrus's tools as cyrus, for building the server (not for timing: see timed-process.ts). */
export function runCyrusTool(tool: string, args: readonly string[], input = ''): Promise<CyrusToolResult> {
  const { uid, gid } = cyrusAccount();
  return new Promise((resolve, reject) => {
    const child = spawn(`${CYRUS_BIN}/${tool}`, args, { uid, gid, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err) => reject(new Error(`cannot run ${tool}: ${err.message}`)));
    child.once('close', (code, signal) => resolve({ code: code ?? 128, stdout, stderr: signal ? `${stderr}(killed by ${signal})` : stderr }));
    child.stdin.end(input);
  });
}

/** Cyrus tools run as cyrus: every folder above `dir` must be searchable by it. */
export function assertReachableByCyrus(dir: string): void {
  const { uid, gid } = cyrusAccount();
  for (let ancestor = resolve(dir); ; ancestor = dirname(ancestor)) {
    const { mode, uid: owner, gid: group } = statSync(ancestor);
    const searchable = (mode & 0o001) !== 0 || (owner === uid && (mode & 0o100) !== 0) || (group === gid && (mode & 0o010) !== 0);
    if (!searchable) throw new Error(`user cyrus cannot reach ${dir}: ${ancestor} is not searchable by it (chmod o+x it or pick another --dir)`);
    if (ancestor === dirname(ancestor)) return;
  }
}
