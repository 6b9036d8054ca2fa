import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { parseHost } from './http-host.js';
import { LEAST } from './least-values.js';
import { maintenanceSchema } from './maintenance.js';
import { notifySchema } from './notify.js';
import { duration, positiveInt, size, valueKinds } from './value-schemas.js';
import { dailyWindow } from './window.js';

const DEFAULT_MAX_UNCHANGED_AGE = 7 * 24 * 3600 * 1000;


const path = z
  .string({ error: 'expected a file path' })
  .min(1, { error: 'expected a file path' })
  .refine((p) => !p.includes('\0'), { error: 'a file path cannot contain a NUL character' });

/** Cyrus lowercases its config keys, so a channel with any other character can never match and makes imapd crash. */
export const CHANNEL_NAME = /^[a-z0-9_]+$/;

/**
 * userid patterns: `*` and `%` are wildcards; anything that could split an IMAP command is refused here
 * already, and so are quotes and backslashes, which Cyrus allows in no userid. Spaces it allows.
 */
const USER_PATTERN = /^[^\p{Cc}\u2028\u2029"\\]+$/u;

/** A host name, IPv4 or IPv6 address: a space, control character, `scheme://` or `:port` would only fail later, at connect time. */
const HOST = /^(?:[\p{L}\p{N}._-]+|[0-9A-Fa-f:.]+|\[[0-9A-Fa-f:.]+\])$/u;

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|::1|\[::1\])$/i;

const LISTEN_ERROR = 'expected host:port (e.g. 127.0.0.1:9465, [::1]:9465, 0.0.0.0:9465) or a port alone for loopback';

/** `host:port`, `[v6]:port`, or a bare port, which binds to loopback: metrics and user lists stay on the machine unless asked. */
const listenAddress = z
  .union([z.string(), z.number()], { error: LISTEN_ERROR })
  .meta({ description: 'host:port, [v6]:port, or a port alone, which binds to loopback' })
  .register(valueKinds, { kind: 'listen' })
  .transform((value, ctx) => {
    const match = /^(?:(\[[0-9a-f:]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/i.exec(String(value));
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: LISTEN_ERROR });
      return z.NEVER;
    }
    return { host: match[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
  });

const server = z
  .strictObject({
    name: z.string({ error: 'expected a short server name' }).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
      error: 'expected a short server name of letters, digits, `_`, `.`, `-`',
    }),
    host: z.string({ error: 'expected a host name or address' }).regex(HOST, {
      error: 'expected a host name or IP address, without spaces, control characters, scheme or :port (the port goes in port:)',
    }),
    port: z.number({ error: 'expected a port number 1-65535' }).int().min(1).max(65535, { error: 'expected a port number 1-65535' }).optional(),
    tls: z.enum(['implicit', 'starttls', 'none'], { error: 'expected one of: implicit, starttls, none' }).default('implicit'),
    allowInsecure: z.boolean({ error: 'expected true or false' }).default(false),
    tlsVerify: z.boolean({ error: 'expected true or false' }).default(true),
    tlsCaFile: path.optional(),
    user: z.string({ error: 'expected the IMAP admin user name' }).min(1, { error: 'expected the IMAP admin user name' }),
    authzid: z.string().min(1).optional(),
    passwordFile: path.optional(),
    passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' }).optional(),
    channel: z.string({ error: 'expected a channel name' }).regex(CHANNEL_NAME, {
      error: 'expected a lowercase channel name of a-z, 0-9 and _ (Cyrus lowercases config keys, so no other channel name can match)',
    }).default('backup'),
    users: z
      .array(z.string().regex(USER_PATTERN, { error: 'expected a userid pattern without quotes, backslashes or control characters' }), {
        error: 'expected a list of userid patterns, e.g. ["*"]',
      })
      .min(1, { error: 'expected at least one userid pattern, e.g. ["*"]' })
      .default(['*']),
    maxConcurrent: positiveInt('the number of XBACKUP commands in flight').default(1),
    // Cyrus backs every shared mailbox of a server up into one backup, %SHARED.
    sharedMailboxes: z.boolean({ error: 'expected true or false' }).default(true),
    commandTimeout: duration('command timeout', LEAST.commandTimeout).prefault('6h'),
    // Every network step but XBACKUP: logging in, a LIST, a NOOP, a LOGOUT; a server that misses it is paused like any failing one.
    stepTimeout: duration('step timeout', LEAST.stepTimeout).prefault('30s'),
  })
  .superRefine((s, ctx) => {
    if ((s.passwordFile === undefined) === (s.passwordEnv === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give exactly one of passwordFile or passwordEnv' });
    }
    // A malformed host has its own error; a second one about it would only confuse.
    if (s.tls === 'none' && !s.allowInsecure && HOST.test(s.host) && !LOOPBACK.test(s.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls'],
        message: `tls: none would send the admin password in clear text to ${s.host}; use implicit or starttls, or set allowInsecure: true`,
      });
    }
  })
  .transform((s) => ({ ...s, port: s.port ?? (s.tls === 'implicit' ? 993 : 143) }));

export const configSchema = z
  .strictObject({
    backupd: z
      .strictObject({
        imapdConf: path.default('/etc/imapd.conf'),
        backupsDb: path.optional(),
        backupsDbFormat: z.enum(['twoskip', 'skiplist', 'flat'], { error: 'expected one of: twoskip, skiplist, flat' }).optional(),
        ctlBackups: path.default('/usr/lib/cyrus/bin/ctl_backups'),
        // false: SQLite reads every index, the page reader (src/backupd/index-pages.ts) none.
        pageReader: z.boolean({ error: 'expected true or false' }).default(true),
      })
      .prefault({}),
    state: path.default('/var/lib/xbackup-scheduler/state.db'),
    servers: z.array(server, { error: 'expected a list of IMAP servers' }).default([]),
    policy: z
      .strictObject({
        schedule: z
          .string({ error: 'expected a cron expression, e.g. "*/10 * * * *"' })
          .refine((s) => isValidCron(s), { error: 'expected a valid cron expression, e.g. "*/10 * * * *"' })
          .default('*/10 * * * *'),
        maxAge: duration('maximum backup age', LEAST.backupAge).prefault('24h'),
        maxPerCycle: positiveInt('the number of users per cycle').default(500),
        failingAfter: positiveInt('the number of failed attempts').default(3),
        discoverEvery: duration('discovery interval').prefault('1h'),
        shutdownGrace: duration('shutdown grace').prefault('60s'),
        // false: every user is judged by the age of its backup alone, as before the comparison existed.
        compareLive: z.boolean({ error: 'expected true or false' }).default(true),
        // A user found in sync with its mailboxes is still backed up this long after its last real
        // backup: HIGHESTMODSEQ does not show every change (docs/modseq-coverage.md). Default: 7d, or
        // maxAge when that is longer.
        maxUnchangedAge: duration('maximum age of an unchanged backup').optional(),
        // Refreshes of users already backed up start only inside it; left out, at any time.
        window: dailyWindow('refresh window').optional(),
      })
      .refine((p) => p.maxUnchangedAge === undefined || p.maxUnchangedAge >= p.maxAge, {
        path: ['maxUnchangedAge'],
        error: 'must be at least policy.maxAge: being in sync with its mailboxes cannot stand in for a backup for less time than a backup does',
      })
      .transform((p) => ({ ...p, maxUnchangedAge: p.maxUnchangedAge ?? Math.max(DEFAULT_MAX_UNCHANGED_AGE, p.maxAge) }))
      .prefault({}),
    retry: z
      .strictObject({
        baseDelay: duration('retry delay', LEAST.retryDelay).prefault('5m'),
        maxDelay: duration('maximum retry delay').prefault('6h'),
        inDoubtGrace: duration('in-doubt grace', LEAST.inDoubtGrace).prefault('2h'),
      })
      .prefault({}),
    bootstrap: z
      .strictObject({
        groupSize: positiveInt('the number of users per group').default(5),
        maxGroupBytes: size('group size in bytes', LEAST.groupBytes).prefault('2GiB'),
        pause: duration('pause between groups').prefault('30s'),
        order: z.enum(['smallest', 'largest', 'name'], { error: 'expected one of: smallest, largest, name' }).default('smallest'),
        concurrentGroups: positiveInt('the number of groups in flight').default(1),
        minStagingFreeBytes: size('free staging space').optional(),
        compactAfter: z.boolean({ error: 'expected true or false' }).default(false),
        // First backups start only inside it; left out, at any time.
        window: dailyWindow('first-backup window').optional(),
        // First-backup bytes (discovery's sizes) per opening of bootstrap.window, or per day without one.
        maxBytesPerWindow: size('first-backup bytes per window', LEAST.windowBytes).optional(),
      })
      .prefault({}),
    http: z
      .strictObject({
        listen: listenAddress.optional(),
        tokenFile: path.optional(),
        allowedHosts: z
          .array(
            z.string().refine((h) => parseHost(h) !== undefined, {
              error: 'expected a host name or address as the Host header carries it, with or without :port (e.g. backup1.example.com, backup1.example.com:9465, [2001:db8::1])',
            }),
            { error: 'expected a list of host names, e.g. ["backup1.example.com"]' },
          )
          .default([]),
        perUserMetrics: z.boolean({ error: 'expected true or false' }).default(false),
      })
      .prefault({}),
    notify: notifySchema,
    maintenance: maintenanceSchema,
  })
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    const address = new Map<string, number>();
    c.servers.forEach((s, i) => {
      const first = seen.get(s.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['servers', i, 'name'], message: `server name "${s.name}" is already used by servers[${first}]` });
      } else seen.set(s.name, i);
      // The same server twice finds every user twice, and a user found on two servers is never backed up (a conflict).
      const where = `${s.host.toLowerCase().replace(/^\[|\]$/g, '')}:${s.port}`;
      const same = address.get(where);
      if (same !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['servers', i, 'host'],
          message: `servers[${i}] "${s.name}" and servers[${same}] "${c.servers[same]!.name}" are the same IMAP server, ${s.host}:${s.port}: every user would be found on both, as a conflict, and backed up by neither; list each IMAP server once`,
        });
      } else address.set(where, i);
    });
    if (c.retry.maxDelay < c.retry.baseDelay) {
      ctx.addIssue({ code: 'custom', path: ['retry', 'maxDelay'], message: 'must not be shorter than retry.baseDelay' });
    }
  });

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedServer = ParsedConfig['servers'][number];
