// A real Cyrus test bed: one or two Cyrus IMAP servers with XBACKUP and one
// backupd, each its own `master` from Debian's packages, on loopback ports in
// a scratch directory. See docs/cyrus-facts.md §1 for why it looks like this.
// A release other than the host's runs from a Debian root (releases.ts) with
// chroot, the bed's directory bind-mounted into it at the same path.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { encodeModifiedUtf7 } from '../../src/cyrus-names/modified-utf7.js';
import { RawImapClient, imapQuote, type ImapResponse } from './raw-imap.js';
import {
  CYRUS_RELEASES,
  HOST_RELEASE,
  RELEASE_ENV,
  parseReleasePair,
  releaseRoot,
  rootsDir,
  type ReleaseName,
} from './releases.js';
import { testCertificates } from './test-certificates.js';

export interface TestBedOptions {
  /** Default false ('.' separator); true makes '/' the separator. */
  unixHierarchySep?: boolean;
  /** Default false; true sets `virtdomains: userid` with `defaultdomain: example.org`. */
  virtDomains?: boolean;
  /** Default true; false writes `xbackup_enabled: no`. */
  xbackupEnabled?: boolean;
  /** Default false: a second IMAP server (own master, dirs, port) sharing the backupd and sasldb. */
  secondImapServer?: boolean;
  /** Default 'backup': the XBACKUP channel, i.e. the prefix of the `<channel>_sync_*` keys. */
  channel?: string;
  /** Default false, which writes `<channel>_sync_try_imap: no` (otherwise each XBACKUP waits 10 s). */
  syncTryImap?: boolean;
  /** A fixed directory (for the sandbox); it must be absent or empty. Default: a fresh one under /dev/shm (else os.tmpdir()). */
  dir?: string;
  /** Sandbox mode: no cleanup at process exit, masters keep running, stop() keeps the dir. */
  keep?: boolean;
  /**
   * Default false. True gives every IMAP server a certificate for 127.0.0.1 and localhost from a
   * private CA (`tlsCaFile`): STARTTLS on `port`, implicit TLS on `tlsPort`. Plain LOGIN still works.
   */
  tls?: boolean;
  /**
   * More XBACKUP channels on every IMAP server, for failure tests: each field defaults to the real
   * backupd's, e.g. `{ wrongpw: { password: 'nope' } }` or `{ nowhere: { port: <a closed port> } }`.
   */
  channels?: Record<string, ExtraChannelOptions>;
  /**
   * backupd's `-U`: connections one backupd process serves before it exits (Cyrus's default is 250, and
   * a process also exits after 60 s idle). A process that exits runs the twoskip repack its writes to
   * backups.db have made due, so 1 makes the repacks of normal operation come within a few dozen first backups.
   */
  backupdMaxUses?: number;
  /**
   * The IMAP servers' Cyrus release; default `XBS_CYRUS_RELEASE`'s (`3.10`, or `3.10/3.6` for IMAP/backupd),
   * else the host's 3.6. Releases other than the host's run from the roots scripts/cyrus-roots.sh builds.
   */
  release?: ReleaseName;
  /** backupd's release; default the IMAP servers' (which must then have backupd: 3.12 has none). */
  backupRelease?: ReleaseName;
}

export interface ExtraChannelOptions {
  /** The sync password; default the real one. */
  password?: string;
  /** Default backupd's port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export type ImapServerName = 'imap1' | 'imap2';

export interface ImapServerInfo {
  name: ImapServerName;
  host: '127.0.0.1';
  port: number;
  /** Implicit TLS (imaps); only with the `tls` option. */
  tlsPort?: number;
  confPath: string;
  dir: string;
  separator: '.' | '/';
  /** LMTP on a unix socket, for tests that deliver mail the way an MTA would. */
  lmtpSocketPath: string;
}

export interface BackupServerInfo {
  port: number;
  confPath: string;
  configDir: string;
  backupsDbPath: string;
  dataDir: string;
  stagingDir: string;
}

export interface CreateUserOptions {
  server?: ImapServerName;
  /** Subfolders below the INBOX, levels joined with the server's separator. */
  folders?: string[];
  /** Messages appended to the INBOX. */
  messages?: number;
  /** Approximate size of each message; default 2,000 bytes. */
  messageBytes?: number;
  /** A SASL password so the user can log in. */
  password?: string;
}

/** Whose files a server's are: the cyrus account of its release's root (another uid in each). */
export interface CyrusAccount {
  uid: number;
  gid: number;
}

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

const CYRUS_BIN = '/usr/lib/cyrus/bin';
const SASLPASSWD2 = '/usr/sbin/saslpasswd2';
const REQUIRED_PROGRAMS = {
  imap: ['master', 'imapd', 'lmtpd', 'ctl_cyrusdb'],
  backup: ['master', 'backupd', 'ctl_cyrusdb', 'ctl_backups', 'cyr_dbtool'],
} as const;
const INSTALL_HINT = 'apt-get install -y cyrus-imapd cyrus-common cyrus-replication cyrus-clients sasl2-bin';
const LOG_HINT = 'Cyrus logs to syslog (facility mail): run rsyslogd (Debian package rsyslog) and read /var/log/mail.log';
const LOOPBACK = '127.0.0.1';
const SHARED_MEMORY_DIR = '/dev/shm';
const START_ATTEMPTS = 5;
const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const KILL_WAIT_MS = 2_000;
const POLL_MS = 20;
const DEFAULT_DOMAIN = 'example.org';
const ADMIN_USER = 'admin';
const SYNC_USER = 'repluser';
/** Everything, so the admin can APPEND and later tests can do anything. */
const ADMIN_RIGHTS = 'lrswipkxtecda';
const DEFAULT_MESSAGE_BYTES = 2_000;
const APPEND_BATCH_MESSAGES = 100;
const APPEND_BATCH_BYTES = 8_000_000;
/** Linux's sun_path limit, less the NUL. */
const MAX_UNIX_SOCKET_PATH = 107;
const debug = process.env.XBS_TESTBED_DEBUG === '1';

type Role = ImapServerName | 'backup';

/** Where one master's files live; the port is settled at start. */
interface ServerLayout {
  role: Role;
  root: string;
  confPath: string;
  cyrusConfPath: string;
  configDir: string;
  pidFile: string;
  outputPath: string;
  port: number;
  /** The imaps port of a TLS bed's IMAP server. */
  tlsPort: number | undefined;
}

/** Where one server's Cyrus comes from: the host's packages, or a Debian root entered with chroot. */
interface Runtime {
  release: ReleaseName;
  root: string | undefined;
  account: CyrusAccount;
}

interface Settings {
  imapRuntime: Runtime;
  backupRuntime: Runtime;
  separator: '.' | '/';
  virtDomains: boolean;
  xbackupEnabled: boolean;
  secondImapServer: boolean;
  channel: string;
  syncTryImap: boolean;
  keep: boolean;
  tls: boolean;
  channels: Record<string, ExtraChannelOptions>;
  backupdMaxUses: number | undefined;
}

/** Where a TLS bed's certificate files are, relative to its dir. */
const TLS_FILES = { caFile: 'tls/ca.pem', certFile: 'tls/server.pem', keyFile: 'tls/server.key' } as const;

class PortTakenError extends Error {}

export class CyrusTestBed {
  readonly dir: string;
  readonly imap: ImapServerInfo;
  readonly imap2?: ImapServerInfo;
  readonly backup: BackupServerInfo;
  readonly admin: { user: string; password: string };
  readonly channel: string;
  /** The private CA's certificate (PEM) that signed the IMAP servers' certificate; only with the `tls` option. */
  readonly tlsCaFile: string | undefined;
  /** The domain whose users have no `@domain` in mailbox names (virtDomains only). */
  readonly defaultDomain: string | undefined;
  /** The Cyrus releases the IMAP servers and backupd run. */
  readonly releases: { imap: ReleaseName; backup: ReleaseName };
  /** Who owns backupd's files (the cyrus user of its release's root), for tests that alter them as Cyrus would. */
  readonly backupAccount: CyrusAccount;
  private readonly settings: Settings;
  private readonly layouts: Map<Role, ServerLayout>;
  private readonly adminClients = new Map<ImapServerName, Promise<RawImapClient>>();
  private saslWrites: Promise<unknown> = Promise.resolve();
  private messageCounter = 0;
  private scratchCounter = 0;
  private stopped = false;

  private constructor(
    dir: string,
    settings: Settings,
    layouts: Map<Role, ServerLayout>,
    adminPassword: string,
  ) {
    this.dir = dir;
    this.settings = settings;
    this.layouts = layouts;
    this.channel = settings.channel;
    this.tlsCaFile = settings.tls ? path.join(dir, TLS_FILES.caFile) : undefined;
    this.defaultDomain = settings.virtDomains ? DEFAULT_DOMAIN : undefined;
    this.releases = { imap: settings.imapRuntime.release, backup: settings.backupRuntime.release };
    this.backupAccount = settings.backupRuntime.account;
    this.admin = { user: ADMIN_USER, password: adminPassword };
    this.imap = imapInfo(layouts.get('imap1')!, settings.separator);
    const second = layouts.get('imap2');
    if (second) this.imap2 = imapInfo(second, settings.separator);
    const backup = layouts.get('backup')!;
    this.backup = {
      port: backup.port,
      confPath: backup.confPath,
      configDir: backup.configDir,
      backupsDbPath: path.join(backup.configDir, 'backups.db'),
      dataDir: path.join(backup.root, 'data'),
      stagingDir: path.join(backup.root, 'stage'),
    };
  }

  /** Starts the masters and resolves once every port greets; retries with new ports if one was taken. */
  static async start(options: TestBedOptions = {}): Promise<CyrusTestBed> {
    const startedAt = Date.now();
    const settings = resolveSettings(options);
    checkPrerequisites(settings);
    const dir = await prepareDir(options.dir, settings);
    if (!settings.keep) guardAtExit(dir);
    try {
      await mountIntoRoots(dir, settings);
      const passwords = { admin: randomPassword(), sync: randomPassword() };
      await writeSaslUser(dir, settings, ADMIN_USER, os.hostname(), passwords.admin);
      await writeSaslUser(dir, settings, SYNC_USER, os.hostname(), passwords.sync);
      if (settings.tls) await writeTlsFiles(dir);
      const layouts = await startServers(dir, settings, passwords.sync);
      const bed = new CyrusTestBed(dir, settings, layouts, passwords.admin);
      await bed.writeDescription();
      if (debug) process.stderr.write(`[testbed] ${dir} started in ${Date.now() - startedAt} ms\n`);
      return bed;
    } catch (error) {
      await stopProcessesUnder(dir).catch(() => undefined);
      unmountFromRoots(dir);
      if (!settings.keep) {
        await fsp.rm(dir, { recursive: true, force: true });
        releaseAtExit(dir);
      }
      throw error;
    }
  }

  /** Stops every Cyrus process started from `dir` (e.g. a sandbox left running with `keep`). */
  static async stopServersIn(dir: string): Promise<void> {
    await stopProcessesUnder(path.resolve(dir));
    unmountFromRoots(path.resolve(dir));
  }

  /**
   * The name the admin sees: `user.anne`, `user/anne.smith`, `user.anne@example.com`,
   * with `folder` appended below the INBOX. Users of the default domain have no suffix.
   */
  mailboxName(userid: string, folder?: string, server: ImapServerName = 'imap1'): string {
    const separator = this.serverInfo(server).separator;
    const at = userid.lastIndexOf('@');
    const localPart = at < 0 ? userid : userid.slice(0, at);
    const domain = at < 0 ? undefined : userid.slice(at + 1);
    if (domain !== undefined && !this.settings.virtDomains) {
      throw new Error(`userid ${userid} has a domain, but this test bed runs without virtDomains`);
    }
    // Under the '.' separator Cyrus shows a dot inside a userid as '^' (user.anne^smith is anne.smith).
    const shownLocalPart = separator === '.' ? localPart.replaceAll('.', '^') : localPart;
    const inbox = `user${separator}${shownLocalPart}${folder ? separator + folder : ''}`;
    // On the wire a name beyond ASCII is modified UTF-7 (jürgen: j&APw-rgen), as an IMAP4rev1 client sends it.
    return encodeModifiedUtf7(domain === undefined || domain === this.defaultDomain ? inbox : `${inbox}@${domain}`);
  }

  /** CREATE the INBOX (and folders), give the admin all rights, APPEND mail, and optionally a password. */
  async createUser(userid: string, options: CreateUserOptions = {}): Promise<void> {
    const server = options.server ?? 'imap1';
    const client = await this.adminClient(server);
    const inbox = this.mailboxName(userid, undefined, server);
    await expectOk(client.command(`CREATE ${imapQuote(inbox)}`), `create ${inbox} on ${server}`);
    await expectOk(
      client.command(`SETACL ${imapQuote(inbox)} ${imapQuote(ADMIN_USER)} ${ADMIN_RIGHTS}`),
      `give ${ADMIN_USER} rights on ${inbox}`,
    );
    for (const folder of options.folders ?? []) {
      const name = this.mailboxName(userid, folder, server);
      await expectOk(client.command(`CREATE ${imapQuote(name)}`), `create ${name} on ${server}`);
    }
    if (options.messages) {
      await this.appendMessages(userid, options.messages, options.messageBytes ?? DEFAULT_MESSAGE_BYTES, { server });
    }
    if (options.password !== undefined) await this.setPassword(userid, options.password);
  }

  /** APPENDs `count` generated messages of about `bytes` each to the INBOX or a folder. */
  async appendMessages(
    userid: string,
    count: number,
    bytes: number,
    options: { server?: ImapServerName; folder?: string } = {},
  ): Promise<void> {
    const server = options.server ?? 'imap1';
    const client = await this.adminClient(server);
    const mailbox = this.mailboxName(userid, options.folder, server);
    // MULTIAPPEND batches halve the time per small message; the byte cap keeps commands modest.
    for (let done = 0; done < count; ) {
      const batch: Buffer[] = [];
      let batchBytes = 0;
      while (done < count && batch.length < APPEND_BATCH_MESSAGES && batchBytes < APPEND_BATCH_BYTES) {
        const message = generateMessage(userid, ++this.messageCounter, bytes);
        batch.push(message);
        batchBytes += message.length;
        done++;
      }
      await expectOk(client.append(mailbox, batch), `append ${batch.length} messages to ${mailbox} on ${server}`);
    }
  }

  /** Adds or changes a user's SASL password (shared by all servers of the bed). */
  async setPassword(userid: string, password: string): Promise<void> {
    const at = userid.lastIndexOf('@');
    // With virtdomains, Cyrus looks `anne@example.com` up as user anne in realm example.com.
    const [user, realm] =
      at >= 0 && this.settings.virtDomains ? [userid.slice(0, at), userid.slice(at + 1)] : [userid, os.hostname()];
    const write = this.saslWrites.then(() => writeSaslUser(this.dir, this.settings, user, realm, password));
    this.saslWrites = write.catch(() => undefined);
    await write;
  }

  /** A new connection, logged in as the admin; the caller logs out. */
  async connect(server: ImapServerName = 'imap1'): Promise<RawImapClient> {
    const info = this.serverInfo(server);
    const client = await RawImapClient.connect(info.host, info.port);
    try {
      await client.login(this.admin.user, this.admin.password);
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** `XBACKUP <pattern> <channel>` on the bed's shared admin connection; the pattern is sent as given. */
  async xbackup(pattern: string, server: ImapServerName = 'imap1', options: { timeoutMs?: number } = {}): Promise<ImapResponse> {
    const client = await this.adminClient(server);
    return client.command(`XBACKUP ${pattern} ${this.channel}`, options);
  }

  /** Stops backupd's master and waits until its processes are gone (the port then refuses). */
  async stopBackupd(): Promise<void> {
    await stopProcessesUnder(this.layouts.get('backup')!.root);
  }

  /**
   * SIGKILLs backupd's master and every child at once, as a crash or an OOM kill would (no graceful
   * stop), and waits until they are gone. startBackupd() brings it back.
   */
  async killBackupd(): Promise<void> {
    await killProcessesUnder(this.layouts.get('backup')!.root);
  }

  /**
   * SIGSTOPs every backupd process: connections to it are still accepted by the kernel but never
   * answered, so an XBACKUP hangs as it would behind a wedged backup server. resumeBackupd() undoes it.
   */
  pauseBackupd(): void {
    for (const { pid } of processesRunningFrom(this.layouts.get('backup')!.root)) signal(pid, 'SIGSTOP');
  }

  resumeBackupd(): void {
    for (const { pid } of processesRunningFrom(this.layouts.get('backup')!.root)) signal(pid, 'SIGCONT');
  }

  /** Starts backupd again on the same port and waits until it greets. */
  async startBackupd(): Promise<void> {
    await this.restartOnSamePort('backup');
  }

  /** Restarts an IMAP server's master (e.g. after editing its imapd.conf, which imapd reads once). */
  async restartImap(server: ImapServerName = 'imap1'): Promise<void> {
    this.serverInfo(server); // throws if the bed has no such server
    await this.dropAdminClient(server);
    await stopProcessesUnder(this.layouts.get(server)!.root);
    await this.restartOnSamePort(server);
  }

  /** `ctl_backups -C <backupd's imapd.conf> ...args` as the cyrus user. */
  ctlBackups(args: string[], options: { timeoutMs?: number } = {}): Promise<ProcessResult> {
    return runCyrusProgram(this.settings.backupRuntime, 'ctl_backups', ['-C', this.backup.confPath, ...args], {
      timeoutMs: options.timeoutMs ?? 60_000,
    });
  }

  /**
   * backups.db as a map userid → data file path. Read from a copy, because
   * cyr_dbtool may repair (write) the file it opens while backupd uses it.
   */
  async cyrDbtoolShowBackupsDb(): Promise<Map<string, string>> {
    const entries = new Map<string, string>();
    if (!fs.existsSync(this.backup.backupsDbPath)) return entries;
    const runtime = this.settings.backupRuntime;
    const scratch = path.join(this.dir, 'scratch', `backups-db-${++this.scratchCounter}`);
    await fsp.mkdir(scratch, { recursive: true });
    const copy = path.join(scratch, 'backups.db');
    try {
      await fsp.copyFile(this.backup.backupsDbPath, copy);
      await chownTree(path.join(this.dir, 'scratch'), runtime.account);
      const result = await runCyrusProgram(runtime, 'cyr_dbtool', ['-C', this.backup.confPath, copy, 'twoskip', 'show'], {
        timeoutMs: 30_000,
      });
      if (result.code !== 0) {
        throw new Error(`cyr_dbtool could not read a copy of ${this.backup.backupsDbPath} (exit ${result.code}): ${result.stderr}`);
      }
      for (const line of result.stdout.split('\n')) {
        const tab = line.indexOf('\t');
        if (tab > 0) entries.set(line.slice(0, tab), line.slice(tab + 1));
      }
      return entries;
    } finally {
      await fsp.rm(scratch, { recursive: true, force: true });
    }
  }

  /** Closes the bed's own admin connections and leaves the servers running (a kept sandbox's process can then exit). */
  async disconnect(): Promise<void> {
    for (const server of [...this.adminClients.keys()]) await this.dropAdminClient(server);
  }

  /** Stops all masters, checks that none of their processes is left, and removes the dir unless `keep`. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.disconnect();
    await stopProcessesUnder(this.dir);
    unmountFromRoots(this.dir);
    if (!this.settings.keep) {
      await fsp.rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
      releaseAtExit(this.dir);
    }
  }

  private serverInfo(server: ImapServerName): ImapServerInfo {
    if (server === 'imap1') return this.imap;
    if (!this.imap2) throw new Error(`this test bed (${this.dir}) has no imap2: start it with secondImapServer: true`);
    return this.imap2;
  }

  /** One logged-in admin connection per server, reused so creating hundreds of users stays cheap. */
  private async adminClient(server: ImapServerName): Promise<RawImapClient> {
    const cached = this.adminClients.get(server);
    if (cached) {
      const client = await cached.catch(() => undefined);
      if (client && !client.closed) return client;
      if (this.adminClients.get(server) !== cached) return this.adminClient(server);
    }
    // Unreferenced, so a kept sandbox's process can exit without calling stop().
    const fresh = this.connect(server).then((client) => client.unref());
    this.adminClients.set(server, fresh);
    return fresh;
  }

  private async dropAdminClient(server: ImapServerName): Promise<void> {
    const cached = this.adminClients.get(server);
    this.adminClients.delete(server);
    const client = await cached?.catch(() => undefined);
    client?.close();
  }

  private async restartOnSamePort(role: Role): Promise<void> {
    const layout = this.layouts.get(role)!;
    if (processesRunningFrom(layout.root).length > 0) {
      throw new Error(`${role} of ${this.dir} is still running: stop it before starting it again`);
    }
    try {
      await launchMaster(layout, runtimeOf(this.settings, role));
      await waitUntilServing(layout);
    } catch (error) {
      await stopProcessesUnder(layout.root).catch(() => undefined);
      if (error instanceof PortTakenError) {
        throw new Error(`cannot restart ${role} of ${this.dir}: port ${layout.port} is now used by another process`);
      }
      throw error;
    }
  }

  /** testbed.json: ports and credentials, for a person poking at a kept sandbox. */
  private async writeDescription(): Promise<void> {
    const description = {
      dir: this.dir,
      imap: this.imap,
      imap2: this.imap2,
      backup: this.backup,
      admin: this.admin,
      channel: this.channel,
      releases: this.releases,
      tlsCaFile: this.tlsCaFile,
      defaultDomain: this.defaultDomain,
    };
    await fsp.writeFile(path.join(this.dir, 'testbed.json'), `${JSON.stringify(description, null, 2)}\n`);
  }
}

function imapInfo(layout: ServerLayout, separator: '.' | '/'): ImapServerInfo {
  return {
    name: layout.role as ImapServerName,
    host: LOOPBACK,
    port: layout.port,
    ...(layout.tlsPort !== undefined && { tlsPort: layout.tlsPort }),
    confPath: layout.confPath,
    dir: layout.root,
    separator,
    lmtpSocketPath: lmtpSocketPath(layout.root),
  };
}

async function expectOk(response: Promise<ImapResponse>, what: string): Promise<void> {
  const { status, text } = await response;
  if (status !== 'OK') throw new Error(`test bed could not ${what}: ${status} ${text}`);
}

// ---------------------------------------------------------------------------
// Setting up: options, directory, sasldb, configuration files

function checkPrerequisites(settings: Settings): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the Cyrus test bed must run as root: it starts Cyrus master as root and chowns its files to cyrus');
  }
  const wanted = [
    ...REQUIRED_PROGRAMS.imap.map((name) => inRoot(settings.imapRuntime, `${CYRUS_BIN}/${name}`)),
    ...REQUIRED_PROGRAMS.backup.map((name) => inRoot(settings.backupRuntime, `${CYRUS_BIN}/${name}`)),
    inRoot(settings.imapRuntime, SASLPASSWD2),
    inRoot(settings.backupRuntime, SASLPASSWD2),
  ];
  const missing = [...new Set(wanted)].filter((file) => !fs.existsSync(file));
  if (missing.length > 0) throw new Error(`the Cyrus test bed needs ${missing.join(', ')}: ${INSTALL_HINT}`);
}

/** A path as the host sees it. */
function inRoot(runtime: Runtime, file: string): string {
  return runtime.root === undefined ? file : path.join(runtime.root, file);
}

/** The releases asked for, or `XBS_CYRUS_RELEASE`'s, or the host's; a release without backupd needs another for backupd. */
function resolveRuntimes(options: TestBedOptions): { imapRuntime: Runtime; backupRuntime: Runtime } {
  const fromEnv = options.release === undefined ? parseReleasePair(process.env[RELEASE_ENV]) : undefined;
  const imap = options.release ?? fromEnv?.imap ?? HOST_RELEASE;
  const backup = options.backupRelease ?? fromEnv?.backup ?? imap;
  if (!CYRUS_RELEASES[backup].hasBackupd) {
    throw new Error(`Cyrus ${backup} has no backupd: give the bed a backupRelease that has one (3.10 or older)`);
  }
  const runtime = (release: ReleaseName): Runtime => {
    const root = releaseRoot(release);
    return { release, root, account: cyrusAccount(root) };
  };
  return { imapRuntime: runtime(imap), backupRuntime: runtime(backup) };
}

function runtimeOf(settings: Settings, role: Role): Runtime {
  return role === 'backup' ? settings.backupRuntime : settings.imapRuntime;
}

function resolveSettings(options: TestBedOptions): Settings {
  const channel = options.channel ?? 'backup';
  const channels = options.channels ?? {};
  // Cyrus lowercases config keys but not the channel argument: only lowercase channels can work.
  for (const name of [channel, ...Object.keys(channels)]) {
    if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`channel ${JSON.stringify(name)} must match [a-z0-9_]+`);
  }
  if (channel in channels) throw new Error(`channels.${channel} would redefine the bed's own channel "${channel}"`);
  const maxUses = options.backupdMaxUses;
  if (maxUses !== undefined && !(Number.isInteger(maxUses) && maxUses >= 1)) throw new Error(`backupdMaxUses must be a whole number from 1, not ${maxUses}`);
  return {
    ...resolveRuntimes(options),
    separator: options.unixHierarchySep ? '/' : '.',
    virtDomains: options.virtDomains ?? false,
    xbackupEnabled: options.xbackupEnabled ?? true,
    secondImapServer: options.secondImapServer ?? false,
    channel,
    syncTryImap: options.syncTryImap ?? false,
    keep: options.keep ?? false,
    backupdMaxUses: options.backupdMaxUses,
    tls: options.tls ?? false,
    channels,
  };
}

/** A fresh temp dir, or the given one if absent or empty (the bed removes it later, so never a used one). */
async function prepareDir(fixed: string | undefined, settings: Settings): Promise<string> {
  let dir: string;
  if (fixed === undefined) {
    dir = await fsp.mkdtemp(path.join(scratchParent(), 'xbs-testbed-'));
  } else {
    dir = path.resolve(fixed);
    const entries = await fsp.readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    if (entries.length > 0) {
      throw new Error(
        `test bed dir ${dir} is not empty; stop what runs there with CyrusTestBed.stopServersIn(dir), remove it, or pick another dir`,
      );
    }
    await fsp.mkdir(dir, { recursive: true });
  }
  if (/[\s"]/.test(dir)) throw new Error(`test bed dir ${dir} contains a space or quote, which cyrus.conf cannot carry`);
  if (Buffer.byteLength(lmtpSocketPath(path.join(dir, 'imap2'))) > MAX_UNIX_SOCKET_PATH) {
    throw new Error(`test bed dir ${dir} is too long for the LMTP unix socket path; pick a shorter dir`);
  }
  // Servers of two releases may run as two uids: both must then reach their own folders below this one.
  // Otherwise it stays open to its owner alone (mkdtemp's 0700), which the least-privilege tests rely on.
  if (settings.imapRuntime.account.uid !== settings.backupRuntime.account.uid) await fsp.chmod(dir, 0o711);
  for (const runtime of [settings.imapRuntime, settings.backupRuntime]) checkReachableByCyrus(dir, runtime.account);
  return dir;
}

/** tmpfs when there is one: Cyrus fsyncs every change, which makes a disk 10–15× slower here. */
function scratchParent(): string {
  try {
    fs.accessSync(SHARED_MEMORY_DIR, fs.constants.W_OK);
    return SHARED_MEMORY_DIR;
  } catch {
    return os.tmpdir();
  }
}

/** Cyrus runs as cyrus: every ancestor of the dir must be searchable by it. */
function checkReachableByCyrus(dir: string, { uid, gid }: CyrusAccount): void {
  for (let ancestor = path.dirname(dir); ; ancestor = path.dirname(ancestor)) {
    const stat = fs.statSync(ancestor);
    const searchable =
      (stat.mode & 0o001) !== 0 ||
      (stat.uid === uid && (stat.mode & 0o100) !== 0) ||
      (stat.gid === gid && (stat.mode & 0o010) !== 0);
    if (!searchable) {
      throw new Error(`user cyrus cannot reach ${dir}: ${ancestor} is not searchable by it (chmod o+x it or pick another dir)`);
    }
    if (ancestor === path.dirname(ancestor)) return;
  }
}

function randomPassword(): string {
  return crypto.randomBytes(12).toString('base64url');
}

/**
 * Each release's servers read a sasldb of their own, written by that release's saslpasswd2 and owned by
 * its cyrus user: the roots' libraries and uids need not match the host's.
 */
async function writeSaslUser(dir: string, settings: Settings, user: string, realm: string, password: string): Promise<void> {
  for (const runtime of distinctRuntimes(settings)) {
    const sasldb = sasldbPath(dir, runtime);
    const result = await runProgram(releaseCommand(runtime, SASLPASSWD2, ['-p', '-c', '-f', sasldb, '-u', realm, user]), {
      input: `${password}\n`,
      timeoutMs: 10_000,
    });
    if (result.code !== 0) {
      throw new Error(`saslpasswd2 could not add ${user}@${realm} to ${sasldb} (exit ${result.code}): ${result.stderr}`);
    }
    await fsp.chown(sasldb, runtime.account.uid, runtime.account.gid);
    await fsp.chmod(sasldb, 0o640);
  }
}

function sasldbPath(dir: string, runtime: Runtime): string {
  return path.join(dir, `sasldb2-${runtime.release}`);
}

function distinctRuntimes(settings: Settings): Runtime[] {
  const { imapRuntime, backupRuntime } = settings;
  return imapRuntime.release === backupRuntime.release ? [imapRuntime] : [imapRuntime, backupRuntime];
}

function layoutFor(dir: string, role: Role): ServerLayout {
  const root = path.join(dir, role);
  return {
    role,
    root,
    confPath: path.join(root, 'imapd.conf'),
    cyrusConfPath: path.join(root, 'cyrus.conf'),
    configDir: path.join(root, 'conf'),
    pidFile: path.join(root, 'run', 'master.pid'),
    outputPath: path.join(root, 'run', 'master.out'),
    port: 0,
    tlsPort: undefined,
  };
}

function lmtpSocketPath(serverRoot: string): string {
  return path.join(serverRoot, 'run', 'lmtp.sock');
}

/** Options every server of the bed shares: naming must agree between IMAP and backupd. */
function commonConfig(dir: string, layout: ServerLayout, settings: Settings): string[] {
  const lines = [
    `configdirectory: ${layout.configDir}`,
    `partition-default: ${path.join(layout.root, 'spool')}`,
    `temp_path: ${path.join(layout.root, 'stage')}`,
    `servername: ${os.hostname()}`,
    `syslog_prefix: ${path.basename(dir)}-${layout.role}`,
    'allowplaintext: yes',
    'sasl_mech_list: PLAIN LOGIN',
    'sasl_pwcheck_method: auxprop',
    'sasl_auxprop_plugin: sasldb',
    `sasl_sasldb_path: ${sasldbPath(dir, runtimeOf(settings, layout.role))}`,
    // Cyrus 3 defaults both to yes; say them explicitly.
    `unixhierarchysep: ${settings.separator === '/' ? 'yes' : 'no'}`,
    'altnamespace: no',
    // Tests try wrong passwords on purpose; Cyrus would stall each for 3 s.
    'failedloginpause: 0',
  ];
  if (settings.virtDomains) lines.push('virtdomains: userid', `defaultdomain: ${DEFAULT_DOMAIN}`);
  return lines;
}

function imapServerConfig(dir: string, layout: ServerLayout, settings: Settings, backupPort: number, syncPassword: string): string {
  const backupd = { host: LOOPBACK, port: backupPort, password: syncPassword };
  const lines = [
    ...commonConfig(dir, layout, settings),
    `admins: ${ADMIN_USER}`,
    `xbackup_enabled: ${settings.xbackupEnabled ? 'yes' : 'no'}`,
    ...syncChannelConfig(settings.channel, backupd, settings.syncTryImap),
  ];
  for (const [name, target] of Object.entries(settings.channels)) {
    const { host = backupd.host, port = backupd.port, password = backupd.password } = target;
    // Extra channels are for failure tests, which must not wait 10 s for the IMAP-protocol probe.
    lines.push(...syncChannelConfig(name, { host, port, password }, false));
  }
  if (settings.tls) {
    lines.push(
      `tls_server_cert: ${path.join(dir, TLS_FILES.certFile)}`,
      `tls_server_key: ${path.join(dir, TLS_FILES.keyFile)}`,
    );
  }
  return lines.join('\n');
}

/** The `<channel>_sync_*` keys XBACKUP reads to reach a backupd (cyrus-facts §2). */
function syncChannelConfig(channel: string, target: Required<ExtraChannelOptions>, tryImap: boolean): string[] {
  return [
    `${channel}_sync_host: ${target.host}`,
    `${channel}_sync_port: ${target.port}`,
    `${channel}_sync_authname: ${SYNC_USER}`,
    `${channel}_sync_password: ${target.password}`,
    `${channel}_sync_try_imap: ${tryImap ? 'yes' : 'no'}`,
  ];
}

function backupServerConfig(dir: string, layout: ServerLayout, settings: Settings): string {
  return [
    ...commonConfig(dir, layout, settings),
    `admins: ${SYNC_USER}`,
    `backuppartition-default: ${path.join(layout.root, 'data')}`,
    `backup_staging_path: ${path.join(layout.root, 'stage')}`,
    'backup_db: twoskip',
  ].join('\n');
}

/** master does not pass -C to its children, so every cmd carries it. */
function cyrusConf(layout: ServerLayout, settings: Settings): string {
  const withConf = (program: string, extra = '') => `${program} -C ${layout.confPath}${extra}`;
  const maxUses = settings.backupdMaxUses === undefined ? '' : ` -U ${settings.backupdMaxUses}`;
  const services =
    layout.role === 'backup'
      ? [`  backupd cmd="${withConf('backupd', maxUses)}" listen="${LOOPBACK}:${layout.port}" prefork=0`]
      : [
          `  imap cmd="${withConf('imapd')}" listen="${LOOPBACK}:${layout.port}" prefork=0`,
          ...(layout.tlsPort === undefined
            ? []
            : [`  imaps cmd="${withConf('imapd', ' -s')}" listen="${LOOPBACK}:${layout.tlsPort}" prefork=0`]),
          `  lmtp cmd="${withConf('lmtpd', ' -a')}" listen="${lmtpSocketPath(layout.root)}" prefork=0`,
        ];
  return [
    'START {',
    `  recover cmd="${withConf('ctl_cyrusdb', ' -r')}"`,
    '}',
    'SERVICES {',
    ...services,
    '}',
    'EVENTS {',
    `  checkpoint cmd="${withConf('ctl_cyrusdb', ' -c')}" period=30`,
    '}',
    'DAEMON {',
    '}',
    '',
  ].join('\n');
}

async function writeServerFiles(
  dir: string,
  layouts: Map<Role, ServerLayout>,
  settings: Settings,
  syncPassword: string,
): Promise<void> {
  const backupPort = layouts.get('backup')!.port;
  for (const layout of layouts.values()) {
    const subdirs = ['spool', 'stage', 'run', 'conf/socket', 'conf/db', 'conf/proc', 'conf/lock'];
    if (layout.role === 'backup') subdirs.push('data');
    for (const subdir of subdirs) await fsp.mkdir(path.join(layout.root, subdir), { recursive: true });
    const config =
      layout.role === 'backup'
        ? backupServerConfig(dir, layout, settings)
        : imapServerConfig(dir, layout, settings, backupPort, syncPassword);
    await fsp.writeFile(layout.confPath, `${config}\n`, { mode: 0o640 });
    await fsp.writeFile(layout.cyrusConfPath, cyrusConf(layout, settings));
  }
  // The bed's own files (TLS, sasldbs) are the IMAP servers'; each server's folder is its release's cyrus user's.
  await chownTree(dir, settings.imapRuntime.account);
  for (const runtime of distinctRuntimes(settings)) {
    await fsp.chown(sasldbPath(dir, runtime), runtime.account.uid, runtime.account.gid);
  }
  for (const layout of layouts.values()) await chownTree(layout.root, runtimeOf(settings, layout.role).account);
}

/** The process's certificates, copied into the bed; chownTree later gives them to cyrus, which must read the key. */
async function writeTlsFiles(dir: string): Promise<void> {
  const certificates = await testCertificates();
  await fsp.mkdir(path.join(dir, path.dirname(TLS_FILES.caFile)), { recursive: true });
  await fsp.writeFile(path.join(dir, TLS_FILES.caFile), certificates.caPem, { mode: 0o644 });
  await fsp.writeFile(path.join(dir, TLS_FILES.certFile), certificates.serverCertPem, { mode: 0o644 });
  await fsp.writeFile(path.join(dir, TLS_FILES.keyFile), certificates.serverKeyPem, { mode: 0o600 });
}

// ---------------------------------------------------------------------------
// Starting and stopping masters

async function startServers(dir: string, settings: Settings, syncPassword: string): Promise<Map<Role, ServerLayout>> {
  const roles: Role[] = settings.secondImapServer ? ['imap1', 'imap2', 'backup'] : ['imap1', 'backup'];
  const layouts = new Map(roles.map((role) => [role, layoutFor(dir, role)] as const));
  const tlsRoles = settings.tls ? roles.filter((role) => role !== 'backup') : [];
  for (let attempt = 1; ; attempt++) {
    const ports = await pickFreePorts(roles.length + tlsRoles.length);
    roles.forEach((role, i) => (layouts.get(role)!.port = ports[i]!));
    tlsRoles.forEach((role, i) => (layouts.get(role)!.tlsPort = ports[roles.length + i]!));
    await writeServerFiles(dir, layouts, settings, syncPassword);
    const started = await Promise.allSettled(
      [...layouts.values()].map(async (layout) => {
        await launchMaster(layout, runtimeOf(settings, layout.role));
        await waitUntilServing(layout);
      }),
    );
    const failures = started.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
    if (failures.length === 0) return layouts;
    await stopProcessesUnder(dir);
    const onlyPortRaces = failures.every((failure) => failure instanceof PortTakenError);
    if (!onlyPortRaces || attempt === START_ATTEMPTS) {
      throw failures.find((failure) => !(failure instanceof PortTakenError)) ?? failures[0]!;
    }
    if (debug) process.stderr.write(`[testbed] ${dir}: ${failures[0]!.message}; retrying with new ports\n`);
  }
}

/** Ports the kernel just handed out; another process may still grab one before master binds it. */
async function pickFreePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, LOOPBACK, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** `master -d` forks a daemon (its own session) and returns at once; its output goes to run/master.out. */
async function launchMaster(layout: ServerLayout, runtime: Runtime): Promise<void> {
  await fsp.rm(layout.pidFile, { force: true }); // a stale pid would look like a master that died
  const output = fs.openSync(layout.outputPath, 'a');
  const args = ['-C', layout.confPath, '-M', layout.cyrusConfPath, '-p', layout.pidFile, '-d'];
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      // master runs as root and drops to its release's cyrus user itself.
      const command = releaseCommand(runtime, `${CYRUS_BIN}/master`, args);
      const child = spawn(command.file, command.args, { stdio: ['ignore', output, output] });
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) {
      throw new Error(
        `Cyrus master for ${layout.role} exited with ${code}: ${readTail(layout.outputPath)} (config ${layout.confPath}; ${LOG_HINT})`,
      );
    }
  } finally {
    fs.closeSync(output);
  }
}

/**
 * Waits until this master listens on its port and the service greets. A master
 * that cannot bind keeps running without the service, so "someone listens"
 * is not enough: the listening socket must be one of the master's own.
 */
async function waitUntilServing(layout: ServerLayout): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const pid = readPidFile(layout.pidFile);
    if (pid !== undefined && !isRunningFrom(pid, layout.root)) {
      throw new Error(
        `Cyrus master for ${layout.role} (pid ${pid}) exited during start-up: ${readTail(layout.outputPath)} (config ${layout.confPath}; ${LOG_HINT})`,
      );
    }
    const endpoints = servedEndpoints(layout);
    const inodes = endpoints.map(({ port }) => listeningSocketInode(port));
    if (pid !== undefined && inodes.every((inode) => inode !== undefined)) {
      endpoints.forEach(({ port }, i) => {
        if (!processHoldsSocket(pid, inodes[i]!)) {
          throw new PortTakenError(`port ${port} for ${layout.role} was taken by another process`);
        }
      });
      await Promise.all(endpoints.map((endpoint) => waitForOkBanner(layout, endpoint, deadline)));
      return;
    }
    if (Date.now() > deadline) {
      const ports = endpoints.map(({ port }) => `${LOOPBACK}:${port}`).join(' and ');
      throw new Error(
        `Cyrus ${layout.role} did not listen on ${ports} within ${READY_TIMEOUT_MS} ms ` +
          `(master pid ${pid ?? 'unknown'}, config ${layout.confPath}, output ${layout.outputPath}; ${LOG_HINT})`,
      );
    }
    await sleep(POLL_MS);
  }
}

interface Endpoint {
  port: number;
  implicitTls: boolean;
}

function servedEndpoints(layout: ServerLayout): Endpoint[] {
  const plain = { port: layout.port, implicitTls: false };
  return layout.tlsPort === undefined ? [plain] : [plain, { port: layout.tlsPort, implicitTls: true }];
}

/**
 * The IMAP greeting or backupd's banner both end with a `* OK` line. Over implicit TLS a finished
 * handshake is enough: only an imapd that loaded the certificate completes one, and Cyrus's
 * greeting then comes about 45 ms later (its post-handshake writes stall on the client's delayed
 * ACK). Verifying the certificate is the tests' business, not start-up's.
 */
function waitForOkBanner(layout: ServerLayout, endpoint: Endpoint, deadline: number): Promise<void> {
  const where = `${layout.role} at ${LOOPBACK}:${endpoint.port}${endpoint.implicitTls ? ' (implicit TLS)' : ''}`;
  return new Promise((resolve, reject) => {
    const socket = endpoint.implicitTls
      ? tls.connect({ host: LOOPBACK, port: endpoint.port, rejectUnauthorized: false }, () => finish())
      : net.connect({ host: LOOPBACK, port: endpoint.port });
    let received = '';
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new Error(`${where} accepted a connection but sent no greeting (config ${layout.confPath}; ${LOG_HINT})`)),
      Math.max(deadline - Date.now(), 1_000),
    );
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const lines = received.split('\r\n');
      if (lines.some((line) => line.startsWith('* OK'))) finish();
      else if (lines.some((line) => line.startsWith('* BYE'))) finish(new Error(`${where} refused: ${received.trim()}`));
    });
    socket.on('error', (error) => finish(new Error(`cannot connect to ${where}: ${error.message}`)));
    socket.on('close', () =>
      finish(new Error(`${where} closed the connection without a greeting (config ${layout.confPath}; ${LOG_HINT})`)),
    );
  });
}

/**
 * SIGTERM to each master under `root` (it stops its children), then SIGKILL
 * whatever is still running from there, and fail loudly if something survives.
 */
async function stopProcessesUnder(root: string): Promise<void> {
  for (const { pid } of processesRunningFrom(root).filter((p) => p.isMaster)) signal(pid, 'SIGTERM');
  if (await waitUntilNoneRunningFrom(root, STOP_GRACE_MS)) return;
  for (const { pid } of processesRunningFrom(root)) signal(pid, 'SIGKILL');
  if (await waitUntilNoneRunningFrom(root, KILL_WAIT_MS)) return;
  const left = processesRunningFrom(root).map((p) => `${p.pid} (${p.cmdline})`);
  throw new Error(`Cyrus processes from ${root} survived SIGKILL: ${left.join(', ')}`);
}

/** SIGKILL to everything running from `root`, repeated for children forked meanwhile, until none is left. */
async function killProcessesUnder(root: string): Promise<void> {
  const deadline = Date.now() + KILL_WAIT_MS;
  for (let left = processesRunningFrom(root); left.length > 0; left = processesRunningFrom(root)) {
    if (Date.now() > deadline) {
      throw new Error(`Cyrus processes from ${root} survived SIGKILL: ${left.map((p) => `${p.pid} (${p.cmdline})`).join(', ')}`);
    }
    for (const { pid } of left) signal(pid, 'SIGKILL');
    await sleep(POLL_MS);
  }
}

async function waitUntilNoneRunningFrom(root: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processesRunningFrom(root).length > 0) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

// ---------------------------------------------------------------------------
// Cleanup when the process ends without stop(): exit, uncaught errors, signals

const guardedDirs = new Set<string>();

function guardAtExit(dir: string): void {
  if (guardedDirs.size === 0) {
    process.on('exit', cleanUpGuardedDirsNow);
    process.on('SIGINT', cleanUpAndResignal);
    process.on('SIGTERM', cleanUpAndResignal);
  }
  guardedDirs.add(dir);
}

function releaseAtExit(dir: string): void {
  guardedDirs.delete(dir);
  if (guardedDirs.size > 0) return;
  process.off('exit', cleanUpGuardedDirsNow);
  process.off('SIGINT', cleanUpAndResignal);
  process.off('SIGTERM', cleanUpAndResignal);
}

/** Synchronous, as 'exit' handlers must be: SIGKILL everything, unmount, then remove the dirs. */
function cleanUpGuardedDirsNow(): void {
  for (const dir of [...guardedDirs]) {
    const deadline = Date.now() + KILL_WAIT_MS;
    let left = processesRunningFrom(dir);
    while (left.length > 0 && Date.now() < deadline) {
      for (const { pid } of left) signal(pid, 'SIGKILL');
      sleepSync(POLL_MS);
      left = processesRunningFrom(dir);
    }
    unmountFromRoots(dir);
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    releaseAtExit(dir);
  }
}

/** Clean up, then let the signal do what it would have done, unless someone else handles it. */
function cleanUpAndResignal(signalName: NodeJS.Signals): void {
  cleanUpGuardedDirsNow();
  if (process.listenerCount(signalName) === 0) process.kill(process.pid, signalName);
}

// ---------------------------------------------------------------------------
// /proc: which processes belong to the bed, which socket is whose

interface CyrusProcess {
  pid: number;
  cmdline: string;
  isMaster: boolean;
}

/**
 * Cyrus programs started with `-C <file under root>`: every process of the
 * bed carries one. Other programs that merely mention the dir (a CLI given a
 * config file there, this very process) are never matched, so never killed.
 */
function processesRunningFrom(root: string): CyrusProcess[] {
  const found: CyrusProcess[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (!isRunningFrom(pid, root)) continue;
    const argv = readArgv(pid);
    found.push({ pid, cmdline: argv.join(' '), isMaster: path.basename(argv[0] ?? '') === 'master' });
  }
  return found;
}

function isRunningFrom(pid: number, root: string): boolean {
  const needle = `${root.replace(/\/+$/, '')}/`;
  const argv = readArgv(pid);
  const configIndex = argv.indexOf('-C');
  if (configIndex < 0 || !argv[configIndex + 1]?.startsWith(needle)) return false;
  try {
    const exe = fs.readlinkSync(`/proc/${pid}/exe`);
    return cyrusBinDirs().some((bin) => exe.startsWith(`${bin}/`));
  } catch {
    return false; // gone, or a zombie
  }
}

function readArgv(pid: number): string[] {
  return (readFileIfPresent(`/proc/${pid}/cmdline`) ?? '').split('\0').filter((arg) => arg !== '');
}

/** The inode of the socket listening on 127.0.0.1:port, from /proc/net/tcp. */
function listeningSocketInode(port: number): string | undefined {
  const wanted = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of (readFileIfPresent('/proc/net/tcp') ?? '').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const LISTEN = '0A';
    if (fields[1] === wanted && fields[3] === LISTEN) return fields[9];
  }
  return undefined;
}

function processHoldsSocket(pid: number, inode: string): boolean {
  const target = `socket:[${inode}]`;
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === target;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

function readFileIfPresent(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // absent, or the process ended while we looked
  }
}

function readPidFile(file: string): number | undefined {
  const pid = Number.parseInt(readFileIfPresent(file) ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------
// Small helpers: the cyrus account, running programs, files, messages

/** uid and primary gid (mail) of the cyrus user, from the host's or the root's /etc/passwd. */
function cyrusAccount(root: string | undefined): CyrusAccount {
  const passwd = path.join(root ?? '/', 'etc/passwd');
  const line = fs
    .readFileSync(passwd, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('cyrus:'));
  if (!line) throw new Error(`there is no cyrus user in ${passwd}: ${INSTALL_HINT}`);
  const fields = line.split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

async function chownTree(root: string, { uid, gid }: CyrusAccount): Promise<void> {
  await fsp.lchown(root, uid, gid);
  for (const entry of await fsp.readdir(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory()) await chownTree(full, { uid, gid });
    else await fsp.lchown(full, uid, gid);
  }
}

interface Command {
  file: string;
  args: string[];
  uid?: number;
  gid?: number;
}

/** A Cyrus program of the runtime's release, as its cyrus user. */
function runCyrusProgram(runtime: Runtime, program: string, args: string[], options: { timeoutMs: number }): Promise<ProcessResult> {
  return runProgram(releaseCommand(runtime, `${CYRUS_BIN}/${program}`, args, runtime.account), options);
}

/**
 * The release's program (a path inside its root) as `user`: the host's run directly, a root's through
 * chroot, whose --userspec drops to that user once inside (chroot itself needs root). No user: root.
 */
function releaseCommand(runtime: Runtime, file: string, args: string[], user?: CyrusAccount): Command {
  if (runtime.root === undefined) return { file, args, ...user };
  const userspec = user ? [`--userspec=${user.uid}:${user.gid}`] : [];
  return { file: '/usr/sbin/chroot', args: [...userspec, runtime.root, file, ...args] };
}

// ---------------------------------------------------------------------------
// Roots: the bed's directory bind-mounted into each release's root at its own path

/** Every bin dir a bed's Cyrus process may run from: the host's and each root's. */
function cyrusBinDirs(): string[] {
  const roots = Object.values(CYRUS_RELEASES).flatMap((release) =>
    release.debianSuite === undefined ? [] : [path.join(rootsDir(), release.debianSuite)],
  );
  return [CYRUS_BIN, ...roots.map((root) => path.join(root, CYRUS_BIN))];
}

async function mountIntoRoots(dir: string, settings: Settings): Promise<void> {
  for (const runtime of distinctRuntimes(settings)) {
    if (runtime.root === undefined) continue;
    const target = path.join(runtime.root, dir);
    await fsp.mkdir(target, { recursive: true });
    const result = await runProgram({ file: 'mount', args: ['--bind', dir, target] }, { timeoutMs: 10_000 });
    if (result.code !== 0) throw new Error(`cannot bind-mount ${dir} at ${target} (exit ${result.code}): ${result.stderr}`);
  }
}

/** Synchronous, for the exit handler too; finds the mounts in /proc/mounts, so it needs no record of its own. */
function unmountFromRoots(dir: string): void {
  const targets = new Set(
    Object.values(CYRUS_RELEASES).flatMap((release) =>
      release.debianSuite === undefined ? [] : [path.join(rootsDir(), release.debianSuite, dir)],
    ),
  );
  const mounted = (readFileIfPresent('/proc/mounts') ?? '')
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((target): target is string => target !== undefined && targets.has(target));
  for (const target of new Set(mounted)) {
    // A process a test started inside the root (a ctl_backups -x command, say) may still hold it: detach
    // the mount then, rather than leave the bed half stopped.
    let result = spawnSync('umount', [target], { encoding: 'utf8' });
    if (result.status !== 0) result = spawnSync('umount', ['--lazy', target], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`cannot unmount ${target}: ${result.stderr.trim()}`);
    // Only the empty mount point goes: never a recursive remove inside a root.
    fs.rmdirSync(target);
  }
}

function runProgram(command: Command, options: { input?: string; timeoutMs: number }): Promise<ProcessResult> {
  const { file, args, uid, gid } = command;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { uid, gid, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} did not finish within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${error.message}`));
    });
    child.once('close', (code, signalName) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, stdout, stderr: signalName ? `${stderr}(killed by ${signalName})` : stderr });
    });
    child.stdin.on('error', () => undefined); // a program that exits before reading: its exit code tells
    child.stdin.end(options.input ?? '');
  });
}

function readTail(file: string): string {
  const text = readFileIfPresent(file)?.trim() ?? '';
  return text ? text.slice(-500) : 'no output';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** An RFC 5322 message padded with 76-character lines to about `bytes` bytes (CRLF line ends). */
function generateMessage(userid: string, serial: number, bytes: number): Buffer {
  const headers = [
    `From: Test Sender <sender@example.net>`,
    `To: ${userid.includes('@') ? userid : `${userid}@example.org`}`,
    `Subject: test message ${serial}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <xbs-testbed-${serial}-${process.pid}-${Date.now()}@example.net>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `Message ${serial} for ${userid}.`,
  ].join('\r\n');
  const bodyLine = `${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3).slice(0, 76)}\r\n`;
  let remaining = Math.max(bytes - headers.length - 2, 0);
  const padding: string[] = [];
  while (remaining >= bodyLine.length) {
    padding.push(bodyLine);
    remaining -= bodyLine.length;
  }
  if (remaining > 2) padding.push(`${'z'.repeat(remaining - 2)}\r\n`);
  return Buffer.from(`${headers}\r\n${padding.join('')}`);
}
