// The maintenance bench's one table: what verify and compact cost per backup as measured, and a day's
// share of them on a server of `fleet` users, extrapolated from the per-backup figures.
import { columns, formatCount, formatDuration, formatRatio } from './format.js';
import type { LockProbe, ToolRun, UserFigures } from './maintenance-measure.js';
import { verificationShare } from '../src/scheduler/maintenance/maintenance-queue.js';

const DAY_MS = 86_400_000;

export interface Projection {
  /** The server projected to, and its hot share (the measured mix). */
  fleet: number;
  hotShare: number;
  verifyEveryDays: number;
  compactChunks: number;
  chunksPerDay: number;
  hotChunksPerDay: number;
  /** Project to backups of this many MiB with the fitted cost per MiB; undefined: at the measured sizes. */
  backupMib: number | undefined;
}

const MIB = 2 ** 20;

/** Least squares y ≈ fixed + perMib × MiB over a group's backups (their size before compaction). */
export function fitPerMib(group: readonly UserFigures[], y: (u: UserFigures) => number): { fixed: number; perMib: number } {
  const xs = group.map((u) => u.before.dataBytes / MIB);
  const ys = group.map(y);
  const mx = mean(xs);
  const my = mean(ys);
  const sxx = xs.reduce((sum, x) => sum + (x - mx) ** 2, 0);
  const perMib = sxx === 0 ? 0 : xs.reduce((sum, x, i) => sum + (x - mx) * (ys[i]! - my), 0) / sxx;
  return { fixed: my - perMib * mx, perMib };
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

function bytes(n: number): string {
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(0)} KiB`;
}

function fitText({ fixed, perMib }: { fixed: number; perMib: number }): string {
  return `${formatDuration(fixed)} + ${formatDuration(perMib)}/MiB`;
}

function minutes(ms: number): string {
  const m = ms / 60_000;
  return m >= 100 ? `${m.toFixed(0)} min` : `${m.toFixed(1)} min`;
}

const WIDTHS = [42, 24, 24, 24];

/** Median (and max) of one tool's figure over a group. */
function timing(group: readonly UserFigures[], tool: 'list' | 'verify' | 'compact', field: keyof ToolRun): string {
  const values = group.map((u) => u[tool][field]);
  return values.length === 0 ? '–' : `${formatDuration(median(values))} (max ${formatDuration(Math.max(...values))})`;
}

/** Users crossing the chunk threshold a day, each group after compaction keeping its measured chunks. */
export function compactionsPerDay(figures: readonly UserFigures[], p: Projection): { typical: number; hot: number } {
  const typical = figures.filter((u) => u.group === 'typical');
  const hot = figures.filter((u) => u.group === 'hot');
  const keptTypical = median(typical.map((u) => u.after.chunks));
  const keptHot = median(hot.map((u) => u.after.chunks));
  const daysToThreshold = (kept: number, perDay: number) => Math.max(p.compactChunks - (Number.isNaN(kept) ? 1 : kept), 1) / perDay;
  return {
    typical: (p.fleet * (1 - p.hotShare)) / daysToThreshold(keptTypical, p.chunksPerDay),
    hot: (p.fleet * p.hotShare) / daysToThreshold(keptHot, p.hotChunksPerDay),
  };
}

export function maintenanceTable(figures: readonly UserFigures[], probe: LockProbe | undefined, p: Projection): string {
  const typical = figures.filter((u) => u.group === 'typical');
  const hot = figures.filter((u) => u.group === 'hot');
  const large = figures.filter((u) => u.group === 'large');
  const groups = [typical, hot, large];
  // The fleet's mix is typical and hot users; the large ones are there for the fit of cost per MiB.
  const mix = [...typical, ...hot];
  const row = (label: string, cell: (g: readonly UserFigures[]) => string) => columns([label, ...groups.map((g) => (g.length ? cell(g) : '–'))], WIDTHS);
  const lines = [
    columns(['per backup (median, max)', `typical: ${typical.length} users`, `hot: ${hot.length} users`, `large: ${large.length} users`], WIDTHS),
    row('chunks before → after compact', (g) => `${median(g.map((u) => u.before.chunks))} → ${median(g.map((u) => u.after.chunks))}`),
    row('data file before → after', (g) => `${bytes(median(g.map((u) => u.before.dataBytes)))} → ${bytes(median(g.map((u) => u.after.dataBytes)))}`),
    row('ctl_backups list -u (wall)', (g) => timing(g, 'list', 'wallMs')),
    row('ctl_backups verify -u (wall)', (g) => timing(g, 'verify', 'wallMs')),
    row('  verify CPU (user+sys)', (g) => timing(g, 'verify', 'cpuMs')),
    row('  verify ÷ list (medians)', (g) => formatRatio(median(g.map((u) => u.verify.wallMs)) / median(g.map((u) => u.list.wallMs)))),
    row('  verify: backupd locked out', (g) => timing(g, 'verify', 'lockMs')),
    row('ctl_backups compact -u (wall)', (g) => timing(g, 'compact', 'wallMs')),
    row('  compact CPU (user+sys)', (g) => timing(g, 'compact', 'cpuMs')),
    row('  compact: backupd locked out', (g) => timing(g, 'compact', 'lockMs')),
  ];
  // Over all groups: their sizes span the small to the large backups.
  const fit = (tool: 'verify' | 'compact') =>
    `wall ${fitText(fitPerMib(figures, (u) => u[tool].wallMs))}, CPU ${fitText(fitPerMib(figures, (u) => u[tool].cpuMs))}`;
  lines.push(
    columns([`verify ≈ fixed + per MiB (fit, all ${figures.length})`, fit('verify')], [WIDTHS[0]!]),
    columns([`compact ≈ fixed + per MiB (fit, all ${figures.length})`, fit('compact')], [WIDTHS[0]!]),
  );
  if (probe) {
    lines.push(
      columns(
        ['probe: XBACKUP during a hot compact', `${probe.userid}: refused ${formatDuration(probe.refusedMs)}, ${probe.lockedAnswers}× locked (lock ${formatDuration(probe.watchedLockMs)})`],
        [WIDTHS[0]!],
      ),
    );
  }

  // A day's share, extrapolated: the lane's own share of verifications (maintenance-queue.ts) at the measured
  // mix's mean cost; compaction of the backups crossing the threshold, each costing what a hot (over-threshold)
  // one's verify and compact did (the lane verifies a backup before it compacts it).
  // With --backup-mib: the whole fleet's fit for its cost per MiB; the group's own mean for the rest.
  const overThreshold = hot.length ? hot : mix;
  const perRun = (group: readonly UserFigures[], y: (u: UserFigures) => number) => {
    if (p.backupMib === undefined) return mean(group.map(y));
    const { perMib } = fitPerMib(figures, y);
    return mean(group.map((u) => y(u) + perMib * (p.backupMib! - u.before.dataBytes / MIB)));
  };
  const verifies = verificationShare(p.fleet, p.verifyEveryDays * DAY_MS);
  const verifyMs = verifies * perRun(mix, (u) => u.verify.wallMs);
  const verifyCpuMs = verifies * perRun(mix, (u) => u.verify.cpuMs);
  const due = compactionsPerDay(figures, p);
  const compactions = due.typical + due.hot;
  const compactMs = compactions * perRun(overThreshold, (u) => u.verify.wallMs + u.compact.wallMs);
  const compactCpuMs = compactions * perRun(overThreshold, (u) => u.verify.cpuMs + u.compact.cpuMs);
  const sizes = p.backupMib === undefined ? `typical and hot backups as measured, mean ${bytes(mean(mix.map((u) => u.before.dataBytes)))}` : `backups of ${p.backupMib} MiB by the fit over all ${figures.length}`;
  const window = (ms: number) => `${minutes(ms)} at 1, ${minutes(ms / 2)} at 2`;
  lines.push(
    '',
    `a day on ${formatCount(p.fleet)} users, EXTRAPOLATED (${sizes})`,
    columns(['', 'runs a day', 'window (wall) at 1 / 2 concurrent'], WIDTHS),
    columns([`verify (every ${p.verifyEveryDays}d)`, formatCount(Math.round(verifies)), `${window(verifyMs)}; CPU ${minutes(verifyCpuMs)}`], WIDTHS),
    columns(
      [`verify + compact (over ${p.compactChunks} chunks)`, `${formatCount(Math.round(compactions))} (${formatCount(Math.round(due.hot))} hot)`, `${window(compactMs)}; CPU ${minutes(compactCpuMs)}`],
      WIDTHS,
    ),
    columns(['both', '', `${window(verifyMs + compactMs)}`], WIDTHS),
  );
  return lines.join('\n');
}
