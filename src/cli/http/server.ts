import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { quoteForLog } from '../../text/quote-for-log.js';
import type { Secret } from '../../config/secret.js';
import type { ReportOptions, ReportSort } from '../../staleness/report.js';
import { isUserState, USER_STATES, type UserState } from '../../staleness/user-state.js';
import { maintenanceToJson } from '../output/maintenance-json.js';
import { reportToJson } from '../output/report-json.js';
import { AUTH_CHALLENGES, carriesToken } from './auth.js';
import { judgeHealth } from './health.js';
import { HostCheck } from './host-check.js';
import type { SchedulerMetrics } from './metrics.js';
import { fleetReport, serverBreakers, type RunView } from './run-view.js';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status-page.js';
import { statusSummary } from './status-summary.js';

export interface HttpListenerOptions {
  listen: { host: string; port: number };
  /** Names besides the listen address and loopback's that may appear in the Host header (http.allowedHosts). */
  allowedHosts: readonly string[];
  /** Required on everything but /healthz when set. */
  token: Secret | undefined;
  view: RunView;
  metrics: SchedulerMetrics;
  logger: Logger;
  now?: () => number;
}

export interface HttpListener {
  /** Where it listens, e.g. http://127.0.0.1:9465/ */
  url: string;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string | string[]>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const text = (status: number, body: string, headers?: Reply['headers']): Reply => ({ status, type: TEXT_TYPE, body: `${body}\n`, ...(headers && { headers }) });
const json = (status: number, value: unknown): Reply => ({ status, type: JSON_TYPE, body: `${JSON.stringify(value)}\n` });

class BadQuery extends Error {}

/**
 * Bounds on `?user=` patterns from a request: 255 is the longest userid the tool takes anywhere
 * (MAX_USERID_BYTES), and filtering costs up to the userid's length times the pattern's, per user and pattern.
 */
const MAX_QUERY_PATTERN_LENGTH = 255;
const MAX_QUERY_PATTERNS = 20;

/**
 * `run`'s HTTP listener (node:http, spec §4): `/` the status page, `/status` the report JSON of §3.1,
 * `/status/summary` what the page draws, `/metrics`, and `/healthz`, which stays open without the token
 * so a load balancer or systemd check needs no secret. Everything is read from memory; nothing scans.
 */
export async function startHttpListener(options: HttpListenerOptions): Promise<HttpListener> {
  const { view, metrics, logger, token } = options;
  const now = options.now ?? Date.now;

  const health = (at: number) => judgeHealth({ now: at, status: view.loop.status, scheduleInterval: view.loop.scheduleInterval(), servers: serverBreakers(view) });
  const routes = new Map<string, (url: URL) => Reply | Promise<Reply>>([
    ['/', () => ({ status: 200, type: 'text/html; charset=utf-8', body: STATUS_PAGE_HTML, headers: { 'Content-Security-Policy': STATUS_PAGE_CSP } })],
    ['/metrics', async () => ({ status: 200, type: metrics.contentType, body: await metrics.render(view, now()) })],
    [
      '/healthz',
      () => {
        const { healthy, reasons } = health(now());
        return healthy ? text(200, 'ok') : text(503, reasons.join('\n'));
      },
    ],
    [
      '/status',
      (url) => {
        const { fleet, maintenance } = view.loop.status;
        if (!fleet) return { ...json(503, { error: 'no cycle has looked at the fleet yet; try again in a moment' }), headers: { 'Retry-After': '10' } };
        const report = reportToJson(fleetReport(view, fleet, now(), reportOptions(url.searchParams)));
        // The lane's own status, after the report's keys, only where maintenance is on.
        return json(200, maintenance ? { ...report, maintenance: maintenanceToJson(maintenance) } : report);
      },
    ],
    [
      '/status/summary',
      () => {
        const at = now();
        return json(200, statusSummary(view, health(at), at));
      },
    ],
  ]);

  let hosts: HostCheck | undefined;
  const answer = async (req: IncomingMessage): Promise<Reply> => {
    if (!hosts?.allows(req.headers.host)) {
      return text(
        421,
        `this listener does not answer to the host name ${quoteForLog(req.headers.host ?? '')} of this request, only to ${hosts?.described}: add the name to http.allowedHosts when a proxy or a DNS name of this machine leads here`,
      );
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes.get(url.pathname);
    if (!route) return text(404, `no such page: ${url.pathname}; try /, /status, /metrics or /healthz`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'only GET and HEAD', { Allow: 'GET, HEAD' });
    if (token && url.pathname !== '/healthz' && !carriesToken(req.headers.authorization, token)) {
      return text(401, 'the token of http.tokenFile is required (Authorization: Bearer <token>)', { 'WWW-Authenticate': AUTH_CHALLENGES });
    }
    try {
      return await route(url);
    } catch (err) {
      if (err instanceof BadQuery) return text(400, err.message);
      throw err;
    }
  };

  const server = createServer((req, res) => {
    answer(req)
      .catch((err: unknown) => {
        logger.error({ err: (err as Error).message, path: req.url }, 'http request failed');
        return text(500, 'internal error; the scheduler log says more');
      })
      .then((reply) => send(req, res, reply))
      .catch((err: unknown) => logger.warn({ err: (err as Error).message, path: req.url }, 'http reply not sent'));
  });
  await new Promise<void>((resolve, reject) => {
    const refuse = (err: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${hostPort(options.listen.host, options.listen.port)}: ${err.code ?? err.message}`));
    server.once('error', refuse);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', refuse);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err: err.message }, 'http listener error'));
  const address = server.address() as AddressInfo;
  hosts = new HostCheck({ host: options.listen.host, port: address.port }, options.allowedHosts);
  if (!token && !isLoopback(address.address)) {
    logger.warn({ address: address.address }, 'http listener reachable from other machines without http.tokenFile: anyone who can reach it reads every userid');
  }
  return {
    url: `http://${hostPort(address.address, address.port)}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  const body = Buffer.from(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': reply.type,
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    ...reply.headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const isLoopback = (address: string) => /^(127\.|::1$|::ffff:127\.)/.test(address);

const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** `report`'s filters as query parameters: ?state=stale,failing&user=a*&sort=age&limit=20 */
function reportOptions(query: URLSearchParams): ReportOptions {
  const states = query.getAll('state').flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const bad = states.filter((s) => !isUserState(s));
  if (bad.length > 0) throw new BadQuery(`unknown state ${bad.join(', ')}; states are ${USER_STATES.join(', ')}`);
  const sort = query.get('sort') ?? 'age';
  if (!['age', 'size', 'user'].includes(sort)) throw new BadQuery('sort is one of age, size, user');
  const limitText = query.get('limit');
  const limit = limitText === null ? undefined : Number(limitText);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw new BadQuery('limit is a whole number ≥ 1');
  const users = query.getAll('user');
  if (users.length > MAX_QUERY_PATTERNS) throw new BadQuery(`at most ${MAX_QUERY_PATTERNS} user patterns; this request has ${users.length}: use fewer, wider ones (* and %)`);
  const long = users.find((p) => p.length > MAX_QUERY_PATTERN_LENGTH);
  if (long !== undefined) throw new BadQuery(`a user pattern is at most ${MAX_QUERY_PATTERN_LENGTH} characters long (no userid is longer); this one has ${long.length}`);
  return {
    sort: sort as ReportSort,
    ...(states.length > 0 && { states: states as UserState[] }),
    ...(users.length > 0 && { userPatterns: users }),
    ...(limit !== undefined && { limit }),
  };
}
