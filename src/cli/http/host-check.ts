import { isIP } from 'node:net';
import { parseHost } from '../../config/http-host.js';

/**
 * Which Host headers the listener answers. A web page can reach a loopback port through DNS
 * rebinding (its own name, resolved again to 127.0.0.1), and then read the answers as its own; but
 * its requests carry its own name in Host. So only these pass, with the listener's port: the listen
 * address, `localhost`, `127.0.0.1`, `[::1]`, and any IP address when it listens on all of them
 * (0.0.0.0, ::), since rebinding always comes with a name; and the names of `http.allowedHosts`, with
 * the port given there or any. A request without Host (HTTP/1.0) is not a browser's, and passes.
 */
export class HostCheck {
  readonly #port: number;
  readonly #names: Set<string>;
  readonly #anyAddress: boolean;
  /** allowedHosts entries: name → port, or null for any port. */
  readonly #configured: Map<string, number | null>;
  /** What the listener answers to, for the refusal's text. */
  readonly described: string;

  constructor(listen: { host: string; port: number }, allowedHosts: readonly string[]) {
    this.#port = listen.port;
    this.#anyAddress = listen.host === '0.0.0.0' || listen.host === '::';
    const listenName = this.#anyAddress ? undefined : parseHost(listen.host.includes(':') ? `[${listen.host}]` : listen.host)?.name;
    this.#names = new Set([...(listenName ? [listenName] : []), 'localhost', '127.0.0.1', '[::1]']);
    this.#configured = new Map();
    for (const entry of allowedHosts) {
      const parsed = parseHost(entry);
      // The config schema refused what parseHost cannot read.
      if (parsed) this.#configured.set(parsed.name, parsed.port ?? null);
    }
    this.described = [
      ...[...this.#names].map((n) => `${n}:${this.#port}`),
      ...(this.#anyAddress ? [`any IP address with port ${this.#port}`] : []),
      ...[...this.#configured].map(([n, p]) => (p === null ? n : `${n}:${p}`)),
    ].join(', ');
  }

  allows(header: string | undefined): boolean {
    if (header === undefined) return true;
    const host = parseHost(header);
    if (!host) return false;
    const configured = this.#configured.get(host.name);
    if (configured !== undefined && (configured === null || configured === (host.port ?? 80))) return true;
    if ((host.port ?? 80) !== this.#port) return false;
    return this.#names.has(host.name) || (this.#anyAddress && isIP(host.name.replace(/^\[|\]$/g, '')) !== 0);
  }
}
