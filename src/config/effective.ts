import { formatDuration } from '../units/duration.js';
import type { Config } from './load.js';
import { configSchema } from './schema.js';
import { valueKinds, type ValueKind } from './value-schemas.js';

/** A config value as a YAML or JSON document holds it. */
export type PlainValue = string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue };

interface SchemaNode {
  def?: { type?: string; shape?: Record<string, unknown>; element?: unknown; innerType?: unknown; in?: unknown };
}

/**
 * The config as the program uses it (defaults filled in, paths made absolute), written back in the file's
 * own terms: durations and sizes as text, the listen address as host:port. Walked along the schema, so
 * only the schema's keys come out: what the loader adds (passwords, the HTTP token) never does.
 */
export function effectiveConfig(config: Config): PlainValue {
  return walk(configSchema, config) ?? {};
}

function walk(schema: unknown, value: unknown): PlainValue | undefined {
  if (value === undefined) return undefined;
  const { node, kind } = unwrap(schema);
  if (kind) return writeAs(kind, value);
  const def = node.def;
  if (def?.type === 'object' && def.shape && isRecord(value)) {
    const out: { [key: string]: PlainValue } = {};
    for (const [key, inner] of Object.entries(def.shape)) {
      const v = walk(inner, value[key]);
      if (v !== undefined) out[key] = v;
    }
    return out;
  }
  if (def?.type === 'array' && Array.isArray(value)) return value.map((v) => walk(def.element, v) ?? null);
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return value as PlainValue;
  return String(value);
}

/** Down through defaults, optionals and transforms to the object, array or value beneath, and its kind if registered. */
function unwrap(schema: unknown): { node: SchemaNode; kind?: ValueKind } {
  let node = schema as SchemaNode;
  for (;;) {
    const kind = valueKinds.get(node as never)?.kind;
    if (kind) return { node, kind };
    const def = node.def;
    const next = def?.type === 'pipe' ? def.in : def?.innerType;
    if (!next) return { node };
    node = next as SchemaNode;
  }
}

function writeAs(kind: ValueKind, value: unknown): PlainValue {
  if (kind === 'duration' && typeof value === 'number') return formatDuration(value);
  // A size or window kept as it was written (units/setting.ts): said back in the admin's own words.
  if ((kind === 'size' || kind === 'window') && isRecord(value) && typeof value.text === 'string') return value.text;
  if (kind === 'listen' && isRecord(value)) {
    const host = String(value.host);
    return `${host.includes(':') ? `[${host}]` : host}:${String(value.port)}`;
  }
  return String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
