import { readFileSync } from 'node:fs';

/** Read from package.json at run time, so `--version` cannot drift from what npm installed. */
export function packageVersion(): string {
  const url = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}
