import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, visit, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { ConfigError, ConfigErrors } from './errors.js';
import { PasswordSourceError, readPasswordEnv, readPasswordFile } from './password.js';
import { configSchema, type ParsedConfig, type ParsedServer } from './schema.js';
import type { Secret } from './secret.js';
import { dottedPath, lineOf } from './yaml-locate.js';

export const DEFAULT_CONFIG_FILE = '/etc/xbackup-scheduler/config.yaml';
/** Names the config file when no -c is given. */
export const CONFIG_ENV = 'XBACKUP_SCHEDULER_CONFIG';

export type ServerConfig = ParsedServer & {
  /** Loaded only when the command talks IMAP, so `report` works for an operator who cannot read the password. */
  password: Secret | undefined;
  /** With `secrets: 'lenient'`, why the password could not be loaded (file:line: problem). */
  passwordError?: string;
};

export type Config = Omit<ParsedConfig, 'servers' | 'http'> & {
  file: string;
  servers: ServerConfig[];
  http: ParsedConfig['http'] & {
    /** The bearer token of the HTTP listener, loaded with the passwords. */
    token: Secret | undefined;
  };
};

export interface LoadOptions {
  /**
   * Read each server's password now (commands that log in to IMAP). `lenient` records a password that
   * cannot be read on that server instead of failing the load, for `report`, which can do without it.
   */
  secrets?: boolean | 'lenient';
  env?: NodeJS.ProcessEnv;
}

export function configFileFromEnv(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env[CONFIG_ENV] ?? DEFAULT_CONFIG_FILE;
}

/** Overrides backupd.pageReader, so that one command can rule the page reader out without an edit of the file. */
export const PAGE_READER_ENV = 'XBACKUP_SCHEDULER_PAGE_READER';

function pageReaderFromEnv(env: NodeJS.ProcessEnv): boolean | undefined {
  const value = env[PAGE_READER_ENV];
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ConfigError('environment', undefined, PAGE_READER_ENV, 'expected true or false (it overrides backupd.pageReader)');
}

export function loadConfig(file: string, options: LoadOptions = {}): Config {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(path, undefined, undefined, code === 'ENOENT' ? 'no such file; give one with -c <file> or XBACKUP_SCHEDULER_CONFIG' : `cannot read: ${code ?? String(err)}`);
  }
  return parseConfig(text, path, options);
}

/** Aliases (`*name`) a config may expand; far more than a real file uses, few enough to stop a "billion laughs" file. */
const MAX_ALIAS_COUNT = 100;

/** Warnings that mean a value is not what it looks like: an unknown or misapplied `!tag` is kept as plain text. */
const TAG_WARNINGS = new Set(['TAG_RESOLVE_FAILED', 'BAD_COLLECTION_TYPE']);

export function parseConfig(text: string, file: string, options: LoadOptions = {}): Config {
  const lines = new LineCounter();
  // The core schema even under a `%YAML 1.1` directive, and no `!!omap`/`!!set`/`!!binary`: plain maps, lists and scalars only.
  // logLevel error: the one process warning yaml prints (a list or map used as a key) is an unknown-key error here anyway.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, schema: 'core', resolveKnownTags: false, logLevel: 'error' });
  const problems = [...doc.errors, ...doc.warnings.filter((w) => TAG_WARNINGS.has(w.code))];
  if (problems.length > 0) {
    throw new ConfigErrors(problems.map((e) => new ConfigError(file, e.pos[0] < 0 ? undefined : lines.linePos(e.pos[0]).line, undefined, `YAML: ${yamlProblem(e)}`)));
  }
  const raw: unknown = toPlainValue(doc, lines, file) ?? {};
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigErrors(result.error.issues.flatMap((issue) => issueToErrors(issue, doc, lines, file, raw)));
  }
  const base = dirname(file);
  const parsed = result.data;
  const tokenFile = parsed.http.tokenFile && resolve(base, parsed.http.tokenFile);
  const servers = parsed.servers.map((s, i): ServerConfig => {
    const server = {
      ...s,
      ...(s.passwordFile && { passwordFile: resolve(base, s.passwordFile) }),
      ...(s.tlsCaFile && { tlsCaFile: resolve(base, s.tlsCaFile) }),
    };
    if (!options.secrets) return { ...server, password: undefined };
    try {
      return { ...server, password: loadPassword(server, i, doc, lines, file, options.env ?? process.env) };
    } catch (err) {
      if (options.secrets !== 'lenient' || !(err instanceof ConfigError)) throw err;
      return { ...server, password: undefined, passwordError: err.message };
    }
  });
  return {
    ...parsed,
    file,
    state: resolve(base, parsed.state),
    backupd: {
      ...parsed.backupd,
      imapdConf: resolve(base, parsed.backupd.imapdConf),
      ...(parsed.backupd.backupsDb && { backupsDb: resolve(base, parsed.backupd.backupsDb) }),
      pageReader: pageReaderFromEnv(options.env ?? process.env) ?? parsed.backupd.pageReader,
    },
    http: { ...parsed.http, ...(tokenFile && { tokenFile }), token: options.secrets === true && tokenFile ? loadToken(tokenFile, doc, lines, file) : undefined },
    servers,
  };
}

/** The document as plain data; an alias expanding too much (or not resolving) is a ConfigError at the first alias. */
function toPlainValue(doc: ReturnType<typeof parseDocument>, lines: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    let aliasLine: number | undefined;
    visit(doc, {
      Alias: (_, node) => {
        aliasLine = node.range ? lines.linePos(node.range[0]).line : undefined;
        return visit.BREAK;
      },
    });
    const excessive = /excessive alias count/i.test((err as Error).message);
    throw new ConfigError(
      file,
      aliasLine,
      undefined,
      excessive
        ? `YAML: the aliases (*name) expand to too much data (more than ${MAX_ALIAS_COUNT} copies); write the values out, or use fewer aliases`
        : `YAML: ${withoutQuotedText((err as Error).message)}`,
    );
  }
}

function loadToken(tokenFile: string, doc: ReturnType<typeof parseDocument>, lines: LineCounter, file: string): Secret {
  try {
    return readPasswordFile(tokenFile, 'token file');
  } catch (err) {
    if (!(err instanceof PasswordSourceError)) throw err;
    const path = ['http', 'tokenFile'];
    throw new ConfigError(file, lineOf(doc, lines, path), dottedPath(path), err.message);
  }
}

function loadPassword(
  server: ParsedServer,
  index: number,
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  file: string,
  env: NodeJS.ProcessEnv,
): Secret {
  const key = server.passwordFile !== undefined ? 'passwordFile' : 'passwordEnv';
  try {
    return server.passwordFile !== undefined ? readPasswordFile(server.passwordFile) : readPasswordEnv(server.passwordEnv!, env);
  } catch (err) {
    if (!(err instanceof PasswordSourceError)) throw err;
    const path = ['servers', index, key];
    throw new ConfigError(file, lineOf(doc, lines, path), dottedPath(path), err.message);
  }
}

function issueToErrors(issue: z.core.$ZodIssue, doc: ReturnType<typeof parseDocument>, lines: LineCounter, file: string, raw: unknown): ConfigError[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issue.path);
    const allowed = known ? `; allowed here: ${known.join(', ')}` : '';
    return issue.keys.map((key) => {
      const line = lineOf(doc, lines, issue.path, key);
      return looksLikeMisspeltKey(key, known ?? [])
        ? new ConfigError(file, line, dottedPath([...issue.path, key]), `unknown key${allowed}`)
        : new ConfigError(file, line, issue.path.length > 0 ? dottedPath(issue.path) : undefined, `unknown key, not named here as it resembles no allowed key (it may be a password typed in the wrong place)${allowed}`);
    });
  }
  const missing = issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined;
  const message = missing ? `required key is missing (${issue.message.replace(/^Invalid input: /, '')})` : issue.message;
  return [new ConfigError(file, lineOf(doc, lines, issue.path), dottedPath(issue.path), message)];
}

/**
 * Whether an unknown key is worth naming in an error: one close to an allowed key is a typo
 * (`maxConcurent`, `pasword`, `pass`); any other could be a secret written as a key, and errors end up
 * in logs. Close means a part of an allowed key, or an edit or two (one for short keys) away from one
 * or from its start.
 */
function looksLikeMisspeltKey(key: string, known: readonly string[]): boolean {
  const typed = key.toLowerCase();
  const limit = typed.length >= 5 ? 2 : 1;
  return known.some((k) => {
    const allowed = k.toLowerCase();
    if (typed.length >= 3 && allowed.includes(typed)) return true;
    return editDistance(typed, allowed) <= limit || editDistance(typed, allowed.slice(0, typed.length)) <= limit;
  });
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * yaml's words for a syntax problem, without the text of the file it sometimes quotes (an alias or tag
 * name, an escape sequence): a password typed where YAML reads an alias (`*...`) or a tag (`!...`) would
 * otherwise be repeated in the error, and errors end up in logs. The line says where to look.
 */
function yamlProblem(error: YAMLError): string {
  if (error.code === 'BAD_DQ_ESCAPE') return 'Invalid escape sequence in a double-quoted string';
  if (error.code === 'BAD_COLLECTION_TYPE') return 'A tag that does not fit its value';
  return withoutQuotedText(error.message);
}

/** yaml puts the text it quotes after a colon (`Unresolved tag: !x`), never in its own words before. */
function withoutQuotedText(message: string): string {
  return message.split(/(?<! ): /)[0]!;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node = raw;
  for (const p of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[p];
  }
  return node;
}

/** The keys the schema accepts at a path, to say what is allowed next to an unknown key. */
function knownKeysAt(path: readonly PropertyKey[]): string[] | undefined {
  let shape: unknown = configSchema;
  for (const p of path) {
    shape = unwrap(shape);
    const def = (shape as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } }).def;
    if (def?.type === 'object' && typeof p === 'string') shape = def.shape?.[p];
    else if (def?.type === 'array' && typeof p === 'number') shape = def.element;
    else return undefined;
  }
  const def = (unwrap(shape) as { def?: { type?: string; shape?: Record<string, unknown> } }).def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
}

/** Looks through defaults, optionals, refinements and transforms to the object or array beneath. */
function unwrap(schema: unknown): unknown {
  let s = schema as { def?: { type?: string; innerType?: unknown; in?: unknown; schema?: unknown } } | undefined;
  for (let i = 0; i < 10 && s?.def; i++) {
    const d = s.def;
    if (d.type === 'object' || d.type === 'array') return s;
    const next = d.innerType ?? d.in ?? d.schema;
    if (!next) return s;
    s = next as typeof s;
  }
  return s;
}
