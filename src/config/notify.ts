// The `notify:` section: where the scheduler says what changed (a webhook, a command, a Healthchecks-style
// ping URL) and which changes it says. Delivery itself is src/notify/.
import { z } from 'zod';
import { LEAST } from './least-values.js';
import { duration } from './value-schemas.js';
import { Secret } from './secret.js';

/** What a cycle can tell (src/notify/cycle-events.ts decides when). */
export const NOTIFY_EVENTS = ['user.failing', 'user.unreadable', 'user.damaged', 'user.recovered', 'server.paused', 'server.back', 'bootstrap.group-finished', 'cycle.failed'] as const;
export type NotifyEventKind = (typeof NOTIFY_EVENTS)[number];

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * A URL as logs and errors may show it: scheme, host and port. Its path, query and user info are left
 * out, since a webhook or ping URL often carries its secret token there.
 */
export function redactedUrl(url: URL): string {
  const hidden = url.pathname !== '/' || url.search !== '' || url.username !== '' || url.password !== '';
  return `${url.protocol}//${url.host}/${hidden ? '…' : ''}`;
}

/** An http(s) URL kept as a Secret: it prints as `[redacted]`, and its `source` is the redacted form. Never echoed in an error. */
const secretUrl = (key: string) =>
  z.string({ error: `expected the ${key} URL, http:// or https://` }).transform((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected an http:// or https:// URL (the value is not repeated here: it may hold a secret token)` });
      return z.NEVER;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `expected an http:// or https:// URL, not ${url.protocol}//` });
      return z.NEVER;
    }
    return { secret: new Secret(url.href, redactedUrl(url)), insecure: url.protocol === 'http:' && !LOOPBACK_HOST.test(url.hostname) };
  });

const MAX_TIMEOUT_MS = 10 * 60_000;

/** A deadline: at least LEAST.notifyTimeout, at most 10m (a delivery in flight holds its queue). */
const timeout = (what: string) =>
  duration(what, LEAST.notifyTimeout).refine((ms) => ms <= MAX_TIMEOUT_MS, { error: `expected a ${what} of at most 10m` });

const retries = (def: number) => z.number({ error: 'expected a number of retries, 0 to 10' }).int({ error: 'expected a number of retries, 0 to 10' }).min(0).max(10, { error: 'expected a number of retries, 0 to 10' }).default(def);

const INSECURE = 'sends the events (userids, errors) in clear text to a host that is not loopback; use https://, or set notify.allowInsecure: true';

export const notifySchema = z
  .strictObject({
    /** Which events go out; all by default. The ping is per cycle and not an event. */
    events: z
      .array(z.enum(NOTIFY_EVENTS, { error: `expected one of: ${NOTIFY_EVENTS.join(', ')}` }), { error: 'expected a list of events' })
      .min(1, { error: `expected at least one event (leave notify: out to send none): ${NOTIFY_EVENTS.join(', ')}` })
      .default([...NOTIFY_EVENTS]),
    /** Events waiting per destination; more are dropped (and logged) rather than held in memory. */
    queueSize: z.number({ error: 'expected a queue size, 1 to 10000' }).int().min(1, { error: 'expected a queue size, 1 to 10000' }).max(10_000, { error: 'expected a queue size, 1 to 10000' }).default(100),
    allowInsecure: z.boolean({ error: 'expected true or false' }).default(false),
    webhook: z
      .strictObject({
        url: secretUrl('webhook'),
        timeout: timeout('webhook timeout').prefault('10s'),
        retries: retries(5),
      })
      .optional(),
    exec: z
      .strictObject({
        // A list, run as it is: no shell unless its first word is one (["/bin/sh", "-c", "..."]).
        command: z
          .array(z.string().min(1, { error: 'expected a non-empty word' }).refine((w) => !w.includes('\0'), { error: 'a word cannot contain a NUL character' }), {
            error: 'expected the command as a list of words, e.g. ["/usr/local/bin/notify-admins", "--backup"]',
          })
          .min(1, { error: 'expected the command as a list of words, e.g. ["/usr/local/bin/notify-admins"]' })
          .refine((words) => words[0]!.startsWith('/'), { error: 'expected the program as an absolute path (the unit gives run a minimal PATH)' }),
        timeout: timeout('command timeout').prefault('30s'),
      })
      .optional(),
    ping: z
      .strictObject({
        url: secretUrl('ping'),
        timeout: timeout('ping timeout').prefault('10s'),
        retries: retries(3),
      })
      .optional(),
  })
  .superRefine((n, ctx) => {
    if (n.allowInsecure) return;
    if (n.webhook?.url.insecure) ctx.addIssue({ code: 'custom', path: ['webhook', 'url'], message: `http:// ${INSECURE}` });
    if (n.ping?.url.insecure) ctx.addIssue({ code: 'custom', path: ['ping', 'url'], message: `http:// ${INSECURE}` });
  })
  .transform(({ webhook, ping, ...rest }) => ({
    ...rest,
    webhook: webhook && { ...webhook, url: webhook.url.secret },
    ping: ping && { ...ping, url: ping.url.secret },
  }))
  .prefault({});

export type NotifyConfig = z.output<typeof notifySchema>;
