import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerConfig } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import type { CyrusTestBed, ImapServerName } from '../cyrus/testbed.js';

/** A ServerConfig for one of the bed's IMAP servers, as the config loader would produce it. */
export function bedServerConfig(bed: CyrusTestBed, which: ImapServerName = 'imap1', overrides: Partial<ServerConfig> = {}): ServerConfig {
  const info = which === 'imap1' ? bed.imap : bed.imap2!;
  return {
    name: which,
    host: info.host,
    port: info.port,
    tls: 'none',
    allowInsecure: false,
    tlsVerify: true,
    user: bed.admin.user,
    channel: bed.channel,
    users: ['*'],
    maxConcurrent: 1,
    sharedMailboxes: true,
    commandTimeout: 60_000,
    stepTimeout: 30_000,
    password: new Secret(bed.admin.password, 'test bed'),
    ...overrides,
  };
}

export interface BedConfigOptions {
  /** Each server's keys, over the defaults pointing at the bed (e.g. { maxConcurrent: 2 } or { port: 1 }). */
  servers?: Array<{ which: ImapServerName; settings?: Record<string, string | number | boolean | string[]> }>;
  /** More YAML appended at the top level. */
  extra?: string;
}

/** Writes a config.yaml (and a 0600 password file) for the CLI, pointing at the bed. */
export function writeBedConfig(bed: CyrusTestBed, dir: string, options: BedConfigOptions = {}): string {
  mkdirSync(dir, { recursive: true });
  const passwordFile = join(dir, 'admin.password');
  writeFileSync(passwordFile, `${bed.admin.password}\n`, { mode: 0o600 });
  const servers = (options.servers ?? [{ which: 'imap1' }]).map(({ which, settings }) => {
    const info = which === 'imap1' ? bed.imap : bed.imap2!;
    const keys = { name: which, host: info.host, port: info.port, tls: 'none', user: bed.admin.user, passwordFile, channel: bed.channel, ...settings };
    return Object.entries(keys)
      .map(([key, value], i) => `${i === 0 ? '  - ' : '    '}${key}: ${JSON.stringify(value)}`)
      .join('\n');
  });
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    [`backupd:\n  imapdConf: ${bed.backup.confPath}`, `state: ${join(dir, 'state.db')}`, `servers:\n${servers.join('\n')}`, options.extra ?? ''].join('\n') + '\n',
  );
  return file;
}
