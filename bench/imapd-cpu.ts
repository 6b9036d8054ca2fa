// The IMAP server's side of a command's cost: the CPU time of the imapd process that serves one connection.
// master forks (or reuses) an imapd per connection, so the process is found from the connection itself:
// our socket's local port, then the server-side socket with that peer port, then the process holding it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { RawImapClient } from '../test/cyrus/raw-imap.js';
import type { CyrusTestBed } from '../test/cyrus/testbed.js';

/** A logged-in admin connection and the imapd serving it. */
export interface MeasuredConnection {
  client: RawImapClient;
  pid: number;
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of a process, in ms (the kernel counts in clock ticks, 10 ms here). */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces: state is [0], utime [11], stime [12].
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** Connects as the admin and finds the imapd on the other end; throws if it cannot be told apart. */
export async function connectMeasured(bed: CyrusTestBed): Promise<MeasuredConnection> {
  const port = bed.imap.port;
  const before = new Set(ownConnectionsTo(port).map((c) => c.localPort));
  const client = await bed.connect();
  const ours = ownConnectionsTo(port).filter((c) => !before.has(c.localPort));
  if (ours.length !== 1) {
    client.close();
    throw new Error(`expected one new connection to port ${port}, found ${ours.length}`);
  }
  const serverSide = tcpSockets().find((s) => s.localPort === port && s.remotePort === ours[0]!.localPort);
  const pid = serverSide && processHolding(serverSide.inode, bed.imap.confPath);
  if (pid === undefined) {
    client.close();
    throw new Error(`no imapd of ${bed.imap.confPath} holds the server side of our connection (port ${ours[0]!.localPort})`);
  }
  return { client, pid };
}

interface TcpSocket {
  localPort: number;
  remotePort: number;
  inode: string;
}

/** IPv4 sockets from /proc/net/tcp (the bed listens on 127.0.0.1 only). */
function tcpSockets(): TcpSocket[] {
  return fs
    .readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length > 9)
    .map((fields) => ({
      localPort: parseInt(fields[1]!.split(':')[1]!, 16),
      remotePort: parseInt(fields[2]!.split(':')[1]!, 16),
      inode: fields[9]!,
    }));
}

function socketInodes(pid: number | 'self'): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes; // gone meanwhile
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

function ownConnectionsTo(port: number): TcpSocket[] {
  const mine = socketInodes('self');
  return tcpSockets().filter((s) => s.remotePort === port && mine.has(s.inode));
}

/** The bed's imapd (its command line names the server's imapd.conf) that holds the socket. */
function processHolding(inode: string, confPath: string): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.endsWith('imapd') || !argv.includes(confPath)) continue;
    if (socketInodes(Number(entry)).has(inode)) return Number(entry);
  }
  return undefined;
}
