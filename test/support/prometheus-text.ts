/** One sample of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedMetrics {
  /** Family name → TYPE (counter, gauge, histogram, ...). */
  types: Map<string, string>;
  samples: Sample[];
}

/**
 * Parses the text exposition format strictly enough to catch what Prometheus would reject: every
 * sample belongs to a family with HELP and TYPE, label values are quoted and escaped, values are numbers.
 */
export function parsePrometheusText(text: string): ParsedMetrics {
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') types.set(meta[2]!, meta[3]!);
      else helped.add(meta[2]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`line ${i + 1} is not a sample: ${line}`);
    const [, name, labelText, valueText] = sample;
    const family = [...types.keys()].find((f) => name === f || (types.get(f) === 'histogram' && /^_(bucket|sum|count)$/.test(name!.slice(f.length)) && name!.startsWith(f)));
    if (!family || !helped.has(family)) throw new Error(`line ${i + 1}: ${name} has no HELP and TYPE`);
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    // prom-client writes `Nan` (its event-loop lag before a sample); Prometheus reads NaN in any case, as Go's ParseFloat does.
    if (Number.isNaN(value) && !/^nan$/i.test(valueText!)) throw new Error(`line ${i + 1}: value ${valueText} is not a number`);
    samples.push({ name: name!, labels: parseLabels(labelText ?? '', i + 1), value });
  }
  return { types, samples };
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(?:,|$)/y;
  while (pattern.lastIndex < text.length) {
    const m = pattern.exec(text);
    if (!m) throw new Error(`line ${line}: bad labels {${text}}`);
    labels[m[1]!] = m[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** The value of the one sample with this name and these labels (among others); throws when absent. */
export function sampleValue(parsed: ParsedMetrics, name: string, labels: Record<string, string> = {}): number {
  const found = parsed.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)}`);
  return found[0]!.value;
}

/**
 * prom-client's default process metrics name three gauges `nodejs_active_*_total`, which promtool's lint
 * flags (a `_total` that is no counter); those names are prom-client's, kept as every Node exporter has them.
 */
export function withoutNodeGaugesNamedTotal(text: string): string {
  return text.split('\n').filter((line) => !/^(# (HELP|TYPE) )?nodejs_active_(handles|requests|resources)_total\b/.test(line)).join('\n');
}
