import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { quoteForLog } from '../text/quote-for-log.js';
import { isAccessDenied, READ_ACCESS_FIX, whereDenied } from './read-access.js';

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
  readInto(resolve(file), entries, 0, new Set());
  return new ImapdConf(resolve(file), entries);
}

export function parseImapdConf(text: string, file: string): ImapdConf {
  const entries = new Map<string, ImapdConfEntry>();
  parseInto(text, file, entries, 0, new Set([resolve(file)]));
  return new ImapdConf(file, entries);
}

/** `read`: every file read so far. Cyrus refuses to read one twice, which also stops include loops and include bombs. */
function readInto(file: string, entries: Map<string, ImapdConfEntry>, depth: number, read: Set<string>, includedAt?: { file: string; line: number }): void {
  read.add(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const why = isAccessDenied(err) ? `permission denied: ${whereDenied(file)}; ${READ_ACCESS_FIX}` : code;
    // A missing included file is fixed at the @include line, so that is where the error points.
    if (includedAt) throw new ConfigError(includedAt.file, includedAt.line, '@include', `cannot read ${file}: ${why}`);
    throw new ConfigError(file, undefined, undefined, `cannot read the Cyrus config: ${why}`);
  }
  parseInto(text, file, entries, depth, read);
}

function parseInto(text: string, file: string, entries: Map<string, ImapdConfEntry>, depth: number, read: Set<string>): void {
  const physical = text.split('\n');
  for (let i = 0; i < physical.length; i++) {
    const startLine = i + 1;
    // Pieces are joined once at the end: appending to the growing line would make a long run of continued lines quadratic.
    const pieces = [physical[i]!.replace(/\r$/, '')];
    while (pieces[pieces.length - 1]!.endsWith('\\') && i + 1 < physical.length) {
      pieces[pieces.length - 1] = pieces[pieces.length - 1]!.slice(0, -1);
      pieces.push(physical[++i]!.replace(/\r$/, ''));
    }
    const line = pieces.join('');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const colon = trimmed.indexOf(':');
    if (colon <= 0) {
      throw new ConfigError(file, startLine, undefined, `not a "key: value" line: ${quoteForLog(trimmed)}`);
    }
    const key = trimmed.slice(0, colon).trim().toLowerCase();
    const value = trimmed.slice(colon + 1).trim();
    if (key === '@include') {
      if (depth >= MAX_INCLUDE_DEPTH) throw new ConfigError(file, startLine, key, `@include nested more than ${MAX_INCLUDE_DEPTH} deep`);
      const included = resolve(dirname(file), value);
      if (read.has(included)) throw new ConfigError(file, startLine, key, `${included} is included twice (Cyrus refuses that too)`);
      readInto(included, entries, depth + 1, read, { file, line: startLine });
      continue;
    }
    entries.set(key, { value, file, line: startLine });
  }
}
