import { readFileSync, statSync } from 'node:fs';
import { Secret } from './secret.js';

export class PasswordSourceError extends Error {
  override readonly name = 'PasswordSourceError';
}

/**
 * Reads a password file (or the HTTP listener's token file: `what` names it in errors), refusing one that
 * group or others could read: a leaked admin password owns every mailbox.
 */
export function readPasswordFile(path: string, what = 'password file'): Secret {
  let mode: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new PasswordSourceError(`${what} ${path} is not a regular file`);
    mode = st.mode & 0o777;
  } catch (err) {
    if (err instanceof PasswordSourceError) throw err;
    throw new PasswordSourceError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (mode & 0o077) {
    throw new PasswordSourceError(
      `${what} ${path} is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`,
    );
  }
  const text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  if (text === '') throw new PasswordSourceError(`${what} ${path} is empty`);
  return new Secret(text, `file ${path}`);
}

export function readPasswordEnv(name: string, env: NodeJS.ProcessEnv): Secret {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new PasswordSourceError(`environment variable ${name} is not set or empty`);
  }
  return new Secret(value, `env ${name}`);
}
