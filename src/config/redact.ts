import type { PlainValue } from './effective.js';

export const REDACTED = '[redacted]';

/**
 * Keys whose values are credentials themselves, in this config or in any section added later (a
 * webhook's headers, an API key). `passwordFile`, `tokenFile`, `passwordEnv` name where a secret is,
 * which an admin needs to see, and stay.
 */
const SECRET_KEY = /password|passwd|secret|token|api[-_]?key|authorization|credential|cookie|bearer|^headers$/i;
const NAMES_A_PLACE = /(?:File|Env|Path)$/;

/** scheme://…: a URL may carry a credential in its user part, its path (webhook tokens) or its query. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/**
 * A config (or any document made from one) without its secrets: values of credential keys replaced,
 * and every URL cut to its scheme, host and port, since its other parts often are the credential
 * (https://hooks.example/T0/B0/XYZ, https://hc-ping.com/<uuid>, https://user:pass@host/).
 */
export function redactConfig(value: PlainValue): PlainValue {
  if (Array.isArray(value)) return value.map(redactConfig);
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: PlainValue } = {};
    for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) && !NAMES_A_PLACE.test(key) ? REDACTED : redactConfig(v);
    return out;
  }
  return typeof value === 'string' ? redactUrls(value) : value;
}

/** Every URL in a text, cut to scheme://host:port, with `/[redacted]` where anything followed. */
export function redactUrls(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return REDACTED;
    }
    const origin = parsed.host === '' ? `${parsed.protocol}//` : `${parsed.protocol}//${parsed.host}`;
    const hidden = parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '' || !['', '/'].includes(parsed.pathname);
    return hidden ? `${origin}/${REDACTED}` : origin;
  });
}
