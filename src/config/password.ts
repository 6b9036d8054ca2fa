import { readFileSync, statSync } from 'node:fs';
import { Secret } from './secret.js';

export class PasswordSourceError extends Error {
  override readonly name = 'PasswordSourceError';
}

const secretIn = (what: 'password file' | 'token file') => (what === 'token file' ? 'token' : 'password');

/**
 * Said instead of a path or variable name that leads nowhere: such a value may be the secret itself,
 * written where its file or variable belongs, and errors end up in logs.
 */
const notRepeated = (what: string, secret: string) => `the ${what} is not repeated, as it may be the ${secret} itself written in the wrong place`;

/**
 * Reads a password file (or the HTTP listener's token file: `what` names it in errors), refusing one that
 * group or others could read: a leaked admin password owns every mailbox. The secret is the first line:
 * one final newline (\n or \r\n) is dropped. Any other whitespace at its ends (a space, a blank line) is
 * refused rather than sent: an editor's slip that would fail every login for no visible reason. A token
 * holds no whitespace at all, since a Bearer header cannot carry it.
 */
export function readPasswordFile(path: string, what: 'password file' | 'token file' = 'password file'): Secret {
  let mode: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new PasswordSourceError(`${what} ${path} is not a regular file`);
    mode = st.mode & 0o777;
  } catch (err) {
    if (err instanceof PasswordSourceError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new PasswordSourceError(`cannot read the ${what}: ${code} (${notRepeated('path', secretIn(what))}); check the path on this line`);
  }
  if (mode & 0o077) {
    throw new PasswordSourceError(
      `${what} ${path} is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`,
    );
  }
  const text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  if (text === '') throw new PasswordSourceError(`${what} ${path} is empty`);
  const secret = secretIn(what);
  const fix = `keep the ${secret} alone on one line, with at most one newline after it`;
  if (/[\r\n]/.test(text)) throw new PasswordSourceError(`${what} ${path} has a line break besides the one after its ${secret} (a blank line, or a second line); ${fix}`);
  if (/^\s|\s$/u.test(text)) throw new PasswordSourceError(`${what} ${path} has a space or tab at the start or end of its ${secret}; ${fix}`);
  if (what === 'token file' && /\s/u.test(text)) {
    throw new PasswordSourceError(`${what} ${path} has a space or tab inside its token, which an Authorization: Bearer header cannot carry; ${fix}`);
  }
  return new Secret(text, `file ${path}`);
}

export function readPasswordEnv(name: string, env: NodeJS.ProcessEnv): Secret {
  const value = env[name];
  if (value === undefined) throw new PasswordSourceError(`the environment variable named on this line is not set (${notRepeated('name', 'password')})`);
  if (value === '') throw new PasswordSourceError(`environment variable ${name} is empty`);
  return new Secret(value, `env ${name}`);
}
