import { stringify } from 'yaml';
import type { ConfigError } from '../../config/errors.js';
import type { PlainValue } from '../../config/effective.js';

/** `config validate`'s verdict on a file that loaded. */
export function configValidLine(file: string, servers: number, json: boolean): string {
  return json ? `${JSON.stringify({ file, valid: true, servers })}\n` : `${file}: valid, ${servers} IMAP server${servers === 1 ? '' : 's'}\n`;
}

/** `config validate --json` on a file that did not load: each problem as the loader located it. */
export function configInvalidJson(file: string, errors: readonly ConfigError[]): string {
  return `${JSON.stringify({ file, valid: false, errors: errors.map((e) => ({ file: e.file, line: e.line ?? null, key: e.key ?? null, problem: e.problem })) })}\n`;
}

/** `config show`: YAML that could be loaded again as it is, or JSON. */
export function configShowText(file: string, config: PlainValue, json: boolean): string {
  if (json) return `${JSON.stringify(config, null, 2)}\n`;
  return `# ${file}: the effective configuration, defaults filled in, secrets redacted\n${stringify(config, { lineWidth: 0 })}`;
}
