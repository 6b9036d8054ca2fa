import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CyrusTestBed } from './testbed.js';
import { RawImapClient, type ImapResponse } from './raw-imap.js';
import { releaseMissing, rootsDir } from './releases.js';

const BOUNDED = { timeout: 30_000 };

/** Mailbox names from `LIST "" "*"`, as the admin sees them. */
async function listMailboxes(bed: CyrusTestBed, server: 'imap1' | 'imap2' = 'imap1'): Promise<string[]> {
  const client = await bed.connect(server);
  try {
    const response = await client.command('LIST "" "*"');
    assert.equal(response.status, 'OK', response.text);
    return response.untagged.map((line) => {
      const match = /^\* LIST \([^)]*\) (?:"[^"]*"|NIL) (.+)$/.exec(line);
      assert.ok(match, `unexpected LIST line: ${line}`);
      const name = match[1]!;
      return name.startsWith('"') ? name.slice(1, -1) : name;
    });
  } finally {
    await client.logout();
  }
}

/** Logs in as a user with their own password: proves the sasldb entry works for that realm. */
async function canLogIn(bed: CyrusTestBed, userid: string, password: string): Promise<boolean> {
  const client = await RawImapClient.connect(bed.imap.host, bed.imap.port);
  try {
    await client.login(userid, password);
    return true;
  } catch {
    return false;
  } finally {
    await client.logout();
  }
}

/** Processes whose command line mentions `dir`, read from /proc independently of the bed's own code. */
function processesMentioning(dir: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmdline.includes(`${dir}/`)) found.push({ pid: Number(entry), cmdline });
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

function mastersMentioning(dir: string): { pid: number; cmdline: string }[] {
  return processesMentioning(dir).filter(({ cmdline }) => path.basename(cmdline.split(' ')[0]!) === 'master');
}

/** A loopback port nobody listens on (the kernel just handed it out and it was closed again). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function assertBackedUp(bed: CyrusTestBed, userid: string): Promise<void> {
  const backups = await bed.cyrDbtoolShowBackupsDb();
  const dataFile = backups.get(userid);
  assert.ok(dataFile, `backups.db has no entry for ${userid}: ${JSON.stringify([...backups])}`);
  assert.ok(dataFile.startsWith(`${bed.backup.dataDir}/`), `${dataFile} is not under ${bed.backup.dataDir}`);
  assert.ok(fs.existsSync(`${dataFile}.index`), `${dataFile}.index does not exist`);
}

/**
 * Runs a node child that starts a bed, prints its dir, then does `then`
 * (an ES module snippet); resolves with the dir and how the child ended.
 */
function runChildWithBed(
  then: string,
  onDir: (dir: string, child: ReturnType<typeof spawn>) => void = () => undefined,
  startOptions: object = {},
): Promise<{ dir: string; code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const testbedUrl = new URL('./testbed.js', import.meta.url).href;
  const script = [
    `import { CyrusTestBed } from ${JSON.stringify(testbedUrl)};`,
    `const bed = await CyrusTestBed.start(${JSON.stringify(startOptions)});`,
    "process.stdout.write(bed.dir + '\\n');",
    then,
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let dirSeen = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (dirSeen || !stdout.includes('\n')) return;
      dirSeen = true;
      onDir(stdout.split('\n')[0]!, child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ dir: stdout.split('\n')[0]!, code, signal, stderr }));
  });
}

describe('a default test bed with a second IMAP server', () => {
  let bed: CyrusTestBed;
  before(async () => {
    bed = await CyrusTestBed.start({ secondImapServer: true });
  });
  after(() => bed?.stop());

  test('a created user, its folder and its mail are visible to the admin, and it can log in', BOUNDED, async () => {
    await bed.createUser('anne', { folders: ['Sent'], messages: 3, messageBytes: 5_000, password: 'anne-secret' });
    assert.equal(bed.mailboxName('anne'), 'user.anne');
    const mailboxes = await listMailboxes(bed);
    assert.ok(mailboxes.includes('user.anne'), mailboxes.join(', '));
    assert.ok(mailboxes.includes('user.anne.Sent'), mailboxes.join(', '));
    const client = await bed.connect();
    try {
      const status = await client.command('STATUS user.anne (MESSAGES SIZE)');
      assert.equal(status.status, 'OK', status.text);
      const [, messages, size] = /MESSAGES (\d+) SIZE (\d+)/.exec(status.untagged.join(' ')) ?? [];
      assert.equal(Number(messages), 3);
      assert.ok(Math.abs(Number(size) - 15_000) < 300, `SIZE ${size} is not about 3 × 5,000 bytes`);
    } finally {
      await client.logout();
    }
    assert.equal(await canLogIn(bed, 'anne', 'anne-secret'), true);
    assert.equal(await canLogIn(bed, 'anne', 'wrong'), false);
  });

  test('XBACKUP through the raw client answers * OK USER anne and fills backups.db', BOUNDED, async () => {
    await bed.createUser('bert', { messages: 2 });
    const client = await bed.connect();
    try {
      const response = await client.command(`XBACKUP user.bert ${bed.channel}`);
      assert.deepEqual(response.untagged, ['* OK USER bert']);
      assert.equal(response.status, 'OK', response.text);
    } finally {
      await client.logout();
    }
    await assertBackedUp(bed, 'bert');
  });

  test('a user on imap2 is backed up into the same backups.db', BOUNDED, async () => {
    assert.ok(bed.imap2);
    assert.notEqual(bed.imap2.port, bed.imap.port);
    await bed.createUser('carl', { server: 'imap2', messages: 1 });
    assert.ok((await listMailboxes(bed, 'imap2')).includes('user.carl'));
    assert.ok(!(await listMailboxes(bed, 'imap1')).includes('user.carl'));
    const response = await bed.xbackup('user.carl', 'imap2');
    assert.deepEqual([response.status, response.untagged], ['OK', ['* OK USER carl']]);
    await assertBackedUp(bed, 'carl');
  });

  test('with backupd stopped XBACKUP answers NO, and after startBackupd it works again', BOUNDED, async () => {
    await bed.createUser('dora', { messages: 1 });
    await bed.stopBackupd();
    const refused = await bed.xbackup('user.dora');
    assert.equal(refused.status, 'NO');
    assert.match(refused.text, /Retry operation/);
    assert.deepEqual(refused.untagged, []);
    await bed.startBackupd();
    const accepted = await bed.xbackup('user.dora');
    assert.deepEqual([accepted.status, accepted.untagged], ['OK', ['* OK USER dora']]);
  });

  test('restartImap brings the server back with its users', BOUNDED, async () => {
    await bed.restartImap();
    assert.ok((await listMailboxes(bed)).includes('user.anne'));
    const response = await bed.xbackup('user.anne');
    assert.deepEqual(response.untagged, ['* OK USER anne']);
  });
});

describe('a test bed with the / separator', () => {
  let bed: CyrusTestBed;
  before(async () => {
    bed = await CyrusTestBed.start({ unixHierarchySep: true });
  });
  after(() => bed?.stop());

  test('a user with a dot shows as user/anne.smith and backs up under its own name', BOUNDED, async () => {
    await bed.createUser('anne.smith', { folders: ['Sent'], messages: 1 });
    assert.equal(bed.imap.separator, '/');
    const mailboxes = await listMailboxes(bed);
    assert.ok(mailboxes.includes('user/anne.smith'), mailboxes.join(', '));
    assert.ok(mailboxes.includes('user/anne.smith/Sent'), mailboxes.join(', '));
    const response = await bed.xbackup('user/anne.smith');
    assert.deepEqual([response.status, response.untagged], ['OK', ['* OK USER anne.smith']]);
    await assertBackedUp(bed, 'anne.smith');
  });
});

describe('a test bed with virtual domains', () => {
  let bed: CyrusTestBed;
  before(async () => {
    bed = await CyrusTestBed.start({ virtDomains: true });
  });
  after(() => bed?.stop());

  test('anne@example.com shows as user.anne@example.com, the default domain has no suffix', BOUNDED, async () => {
    await bed.createUser('anne@example.com', { messages: 1, password: 'anne-secret' });
    await bed.createUser(`dave@${bed.defaultDomain}`);
    const mailboxes = await listMailboxes(bed);
    assert.ok(mailboxes.includes('user.anne@example.com'), mailboxes.join(', '));
    assert.ok(mailboxes.includes('user.dave'), mailboxes.join(', '));
    assert.equal(await canLogIn(bed, 'anne@example.com', 'anne-secret'), true);
    const response = await bed.xbackup('user.anne@example.com');
    assert.deepEqual([response.status, response.untagged], ['OK', ['* OK USER anne@example.com']]);
    await assertBackedUp(bed, 'anne@example.com');
  });
});

describe('a test bed with XBACKUP disabled', () => {
  let bed: CyrusTestBed;
  before(async () => {
    bed = await CyrusTestBed.start({ xbackupEnabled: false });
  });
  after(() => bed?.stop());

  test('XBACKUP answers BAD Unrecognized command', BOUNDED, async () => {
    await bed.createUser('anne');
    const response = await bed.xbackup('user.anne');
    assert.equal(response.status, 'BAD');
    assert.match(response.text, /Unrecognized command/);
  });
});

describe('a test bed with extra channels that cannot replicate', () => {
  let bed: CyrusTestBed;
  before(async () => {
    bed = await CyrusTestBed.start({ channels: { wrongpw: { password: 'nope' }, nowhere: { port: await closedPort() } } });
    await bed.createUser('x', { messages: 1 });
  });
  after(() => bed?.stop());

  test('a refused sync login and an unreachable backupd both answer NO Retry operation, without a failed-login pause', BOUNDED, async () => {
    const client = await bed.connect();
    // Best of three, against the bed's own channel backing the same user up: Cyrus's failed-login pause
    // (3 s unless the bed sets failedloginpause: 0) would make a refusal cost many times that backup.
    const best = async (channel: string, expected: (r: ImapResponse) => void): Promise<number> => {
      let fastest = Infinity;
      for (let i = 0; i < 3; i++) {
        const startedAt = performance.now();
        const response = await client.command(`XBACKUP user.x ${channel}`);
        fastest = Math.min(fastest, performance.now() - startedAt);
        expected(response);
      }
      return fastest;
    };
    try {
      // The bed's own channel backs the same user up: the refusals come from the channels' settings.
      const backupMs = await best(bed.channel, (r) => assert.deepEqual([r.status, r.untagged], ['OK', ['* OK USER x']]));
      for (const channel of ['wrongpw', 'nowhere']) {
        const refusalMs = await best(channel, (r) => assert.deepEqual([r.status, r.text, r.untagged], ['NO', 'Retry operation', []], channel));
        assert.ok(refusalMs < 5 * backupMs, `${channel} took ${refusalMs.toFixed(0)} ms, a backup ${backupMs.toFixed(0)} ms (backupd's failed-login pause?)`);
      }
    } finally {
      await client.logout();
    }
  });
});

test('two beds started at once get different ports, both work, and stop leaves nothing', BOUNDED, async () => {
  const beds = await Promise.all([CyrusTestBed.start(), CyrusTestBed.start()]);
  try {
    const [first, second] = beds as [CyrusTestBed, CyrusTestBed];
    const ports = [first.imap.port, first.backup.port, second.imap.port, second.backup.port];
    assert.equal(new Set(ports).size, 4, `ports collide: ${ports.join(', ')}`);
    assert.notEqual(first.dir, second.dir);
    for (const bed of beds) {
      await bed.createUser('anne', { messages: 1 });
      const response = await bed.xbackup('user.anne');
      assert.deepEqual([response.status, response.untagged], ['OK', ['* OK USER anne']]);
    }
  } finally {
    await Promise.all(beds.map((bed) => bed.stop()));
  }
  for (const bed of beds) {
    assert.deepEqual(processesMentioning(bed.dir), []);
    assert.equal(fs.existsSync(bed.dir), false, `${bed.dir} still exists`);
  }
});

test('a process that throws after starting a bed leaves no master behind', BOUNDED, async () => {
  const child = await runChildWithBed(
    "setTimeout(() => { throw new Error('deliberate failure after starting a bed'); }, 0);",
  );
  assert.match(child.dir, /xbs-testbed-/);
  assert.notEqual(child.code, 0);
  assert.match(child.stderr, /deliberate failure/);
  assert.deepEqual(mastersMentioning(child.dir), []);
  assert.deepEqual(processesMentioning(child.dir), []);
  assert.equal(fs.existsSync(child.dir), false, `${child.dir} still exists`);
});

test('a process stopped by SIGTERM while a bed runs leaves no master behind', BOUNDED, async () => {
  const child = await runChildWithBed('setInterval(() => undefined, 1_000);', (_dir, running) => running.kill('SIGTERM'));
  assert.equal(child.signal, 'SIGTERM');
  assert.deepEqual(processesMentioning(child.dir), []);
  assert.equal(fs.existsSync(child.dir), false, `${child.dir} still exists`);
});

/** Mount points of `dir` inside any release's root, from /proc/mounts. */
function mountsOf(dir: string): string[] {
  return fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((target) => target.startsWith(rootsDir()) && target.endsWith(dir));
}

const MIXED_MISSING = process.env.CI ? undefined : (releaseMissing('3.10') ?? releaseMissing('3.6'));

describe('a mixed test bed: IMAP server of Cyrus 3.10 (trixie root), backupd of the host\'s 3.6', { skip: MIXED_MISSING }, () => {
  let bed: CyrusTestBed;
  before(async () => {
    bed = await CyrusTestBed.start({ release: '3.10', backupRelease: '3.6' });
  });
  after(async () => bed?.stop());

  test('each master runs from its own release, under that release\'s cyrus uid', BOUNDED, async () => {
    const exeOf = (serverRoot: string) => {
      const master = mastersMentioning(serverRoot).find(({ cmdline }) => cmdline.includes(`${serverRoot}/imapd.conf`));
      assert.ok(master, `no master for ${serverRoot}`);
      return fs.readlinkSync(`/proc/${master.pid}/exe`);
    };
    assert.equal(exeOf(bed.imap.dir), path.join(rootsDir(), 'trixie/usr/lib/cyrus/bin/master'));
    assert.equal(exeOf(path.dirname(bed.backup.confPath)), '/usr/lib/cyrus/bin/master');
    assert.equal(mountsOf(bed.dir).length, 1, 'the bed is mounted into the trixie root only');
    const hello = await bed.connect();
    try {
      const id = await hello.command('ID NIL');
      assert.match(id.untagged.join('\n'), /"version" "3\.10\./);
    } finally {
      await hello.logout();
    }
  });

  test('a user on the 3.10 server is backed up by the 3.6 backupd, into files of the host\'s cyrus user', BOUNDED, async () => {
    await bed.createUser('mixed', { messages: 3 });
    const response = await bed.xbackup('user.mixed');
    assert.equal(response.status, 'OK', response.text);
    assert.deepEqual(response.untagged, ['* OK USER mixed']);
    await assertBackedUp(bed, 'mixed');
    const dataFile = (await bed.cyrDbtoolShowBackupsDb()).get('mixed')!;
    assert.equal(fs.statSync(dataFile).uid, bed.backupAccount.uid);
    assert.notEqual(fs.statSync(path.join(bed.imap.dir, 'spool')).uid, bed.backupAccount.uid, 'the roots\' cyrus users differ here, which is the point');
  });
});

test('a bed of another release that ends with its process leaves no mount inside the root', { ...BOUNDED, skip: MIXED_MISSING }, async () => {
  const child = await runChildWithBed(
    "setTimeout(() => { throw new Error('deliberate failure after starting a bed'); }, 0);",
    undefined,
    { release: '3.10' },
  );
  assert.match(child.stderr, /deliberate failure/);
  assert.deepEqual(processesMentioning(child.dir), []);
  assert.deepEqual(mountsOf(child.dir), []);
  assert.equal(fs.existsSync(child.dir), false, `${child.dir} still exists`);
});

test('the raw client reassembles responses split across TCP chunks and skips literals', BOUNDED, async () => {
  // The literal holds a CRLF that must not end the response; every byte arrives alone.
  const reply = '* 1 FETCH (BODY[] {5}\r\nhel\r\n UID 7)\r\nT1 OK done\r\n';
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.write('* OK fake server ready\r\n');
    socket.once('data', () => {
      void (async () => {
        for (const byte of Buffer.from(reply)) {
          socket.write(Buffer.from([byte]));
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const client = await RawImapClient.connect('127.0.0.1', port);
  try {
    assert.equal(client.greeting, '* OK fake server ready');
    const response = await client.command('FETCH 1 BODY[]');
    assert.deepEqual(response, { status: 'OK', text: 'done', untagged: ['* 1 FETCH (BODY[] {5}\r\nhel\r\n UID 7)'] });
  } finally {
    client.close();
    server.close();
  }
});
