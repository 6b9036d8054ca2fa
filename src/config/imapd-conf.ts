import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './errors.js';

export interface ImapdConfEntry {
  value: string;
  file: string;
  line: number;
}

/** A Cyrus imapd.conf as Cyrus reads it: lowercased keys, later lines win, `\` continues a line, `@include` pulls in a file. */
export class ImapdConf {
  constructor(
    readonly file: string,
    readonly entries: ReadonlyMap<string, ImapdConfEntry>,
  ) {}

  get(key: string): string | undefined {
    return this.entries.get(key.toLowerCase())?.value;
  }

  /** Keys starting with a prefix, e.g. `backuppartition-` → { default: '/var/spool/backup' }. */
  withPrefix(prefix: string): Map<string, string> {
    const found = new Map<string, string>();
    for (const [key, entry] of this.entries) {
      if (key.startsWith(prefix)) found.set(key.slice(prefix.length), entry.value);
    }
    return found;
  }

  /** Where a key was set, for error messages that point the admin at the right line. */
  where(key: string): string {
    const e = this.entries.get(key.toLowerCase());
    return e ? `${e.file}:${e.line}` : this.file;
  }
}

const MAX_INCLUDE_DEPTH = 8;

export function readImapdConf(file: string): ImapdConf {
  const entries = new Map<string, ImapdConfEntry>();
  readInto(resolve(file), entries, 0);
  return new ImapdConf(resolve(file), entries);
}

export function parseImapdConf(text: string, file: string): ImapdConf {
  const entries = new Map<string, ImapdConfEntry>();
  parseInto(text, file, entries, 0);
  return new ImapdConf(file, entries);
}

function readInto(file: string, entries: Map<string, ImapdConfEntry>, depth: number): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, undefined, undefined, `cannot read the Cyrus config: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  parseInto(text, file, entries, depth);
}

function parseInto(text: string, file: string, entries: Map<string, ImapdConfEntry>, depth: number): void {
  const physical = text.split('\n');
  for (let i = 0; i < physical.length; i++) {
    const startLine = i + 1;
    let line = physical[i]!.replace(/\r$/, '');
    while (line.endsWith('\\') && i + 1 < physical.length) {
      line = line.slice(0, -1) + physical[++i]!.replace(/\r$/, '');
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const colon = trimmed.indexOf(':');
    if (colon <= 0) {
      throw new ConfigError(file, startLine, undefined, `not a "key: value" line: ${JSON.stringify(trimmed.slice(0, 60))}`);
    }
    const key = trimmed.slice(0, colon).trim().toLowerCase();
    const value = trimmed.slice(colon + 1).trim();
    if (key === '@include') {
      if (depth >= MAX_INCLUDE_DEPTH) throw new ConfigError(file, startLine, key, `@include nested more than ${MAX_INCLUDE_DEPTH} deep`);
      readInto(resolve(dirname(file), value), entries, depth + 1);
      continue;
    }
    entries.set(key, { value, file, line: startLine });
  }
}
