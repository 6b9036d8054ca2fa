/**
 * An HTTP Host header or an `http.allowedHosts` entry, `name[:port]` or `[v6][:port]`, in the form
 * browsers send it: lowercase,
 * IPv4 and IPv6 addresses normalised (`127.1` is `127.0.0.1`, `[0::1]` is `[::1]`), no final dot.
 * Undefined when it is not a host name or address.
 */
export function parseHost(text: string): { name: string; port: number | undefined } | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  try {
    return { name: new URL(`http://${match[1]!}`).hostname.replace(/\.$/, ''), port };
  } catch {
    return undefined;
  }
}
