// Times each variant's sweep on one admin connection: wall time on the client and the serving imapd's
// CPU time, warm (an untimed sweep first), in rounds that rotate the order so a busy spell hits all alike.
import { cpuMs, type MeasuredConnection } from './imapd-cpu.js';
import type { Variant } from './list-status-commands.js';
import { Samples } from './samples.js';

export interface VariantFigures {
  variant: Variant;
  /** Sweeps per timed sample: enough for ≥ MIN_SAMPLE_MS, since the kernel counts CPU in 10 ms ticks. */
  sweepsPerSample: number;
  /** Per sweep, in ms. */
  wall: Samples;
  cpu: Samples;
}

const MIN_SAMPLE_MS = 400;

export async function measureVariants(
  connection: MeasuredConnection,
  list: readonly Variant[],
  rounds: number,
  problems: string[],
): Promise<VariantFigures[]> {
  const figures: VariantFigures[] = [];
  for (const variant of list) {
    const started = performance.now();
    await sweep(connection, variant, problems); // untimed: warms caches (and the statuscache, when on)
    const sweepsPerSample = Math.max(1, Math.ceil(MIN_SAMPLE_MS / Math.max(performance.now() - started, 1)));
    figures.push({ variant, sweepsPerSample, wall: new Samples(), cpu: new Samples() });
  }
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < figures.length; i++) {
      const entry = figures[(i + round) % figures.length]!;
      const cpuBefore = cpuMs(connection.pid);
      const started = performance.now();
      for (let n = 0; n < entry.sweepsPerSample; n++) await sweep(connection, entry.variant, problems);
      entry.wall.add((performance.now() - started) / entry.sweepsPerSample);
      entry.cpu.add((cpuMs(connection.pid) - cpuBefore) / entry.sweepsPerSample);
    }
  }
  return figures;
}

/** One sweep; checks that exactly the expected mailboxes came back, each once, none \NonExistent. */
async function sweep({ client }: MeasuredConnection, variant: Variant, problems: string[]): Promise<void> {
  const seen = new Set<string>();
  let statusLines = 0;
  for (const command of variant.commands) {
    const response = await client.command(command, { timeoutMs: 600_000 });
    if (response.status !== 'OK') {
      problems.push(`${variant.label}: ${command.slice(0, 80)}… answered ${response.status} ${response.text}`);
      continue;
    }
    for (const line of response.untagged) {
      if (line.startsWith('* LIST (') && line.includes('\\NonExistent')) problems.push(`${variant.label}: ${line}`);
      const name = statusName(line);
      if (name === undefined) continue;
      statusLines++;
      seen.add(name);
    }
  }
  const missing = [...variant.expected].filter((name) => !seen.has(name));
  const extra = [...seen].filter((name) => !variant.expected.has(name));
  if (missing.length > 0 || extra.length > 0 || statusLines !== seen.size) {
    problems.push(
      `${variant.label}: ${statusLines} STATUS lines for ${seen.size} mailboxes, ${missing.length} missing (${missing.slice(0, 3).join(', ')}), ` +
        `${extra.length} not asked for (${extra.slice(0, 3).join(', ')})`,
    );
  }
}

function statusName(line: string): string | undefined {
  const match = /^\* STATUS ("(?:[^"\\]|\\.)*"|\S+) \(/.exec(line);
  if (!match) return undefined;
  const name = match[1]!;
  return name.startsWith('"') ? name.slice(1, -1).replace(/\\(.)/g, '$1') : name;
}
