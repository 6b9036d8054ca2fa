import { createHash, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../../config/secret.js';

/**
 * Both schemes are offered: Prometheus sends `Bearer <token>`; a browser asks its user for a password
 * (any user name, the token as password) when challenged with Basic, and sends it on every later fetch.
 */
export const AUTH_CHALLENGES = ['Bearer realm="xbackup-scheduler"', 'Basic realm="xbackup-scheduler", charset="UTF-8"'];

/** Whether an Authorization header carries the token, as `Bearer <token>` or Basic with the token as password. */
export function carriesToken(authorization: string | undefined, token: Secret): boolean {
  const match = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return false;
  const offered = match[1]!.toLowerCase() === 'bearer' ? match[2]! : basicPassword(match[2]!);
  return offered !== null && sameSecret(offered, token.reveal());
}

function basicPassword(encoded: string): string | null {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? null : decoded.slice(colon + 1);
}

/** Compared as digests, in constant time: neither the token's length nor its prefix leaks through timing. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}
