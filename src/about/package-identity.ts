import { readFileSync } from 'node:fs';

/** The tool's name, as npm installs it and as it introduces itself (IMAP ID). */
export const TOOL_NAME = 'xbackup-scheduler';

/** Read from package.json at run time, so `--version` and the IMAP ID cannot drift from what npm installed. */
export function packageVersion(): string {
  const url = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}
