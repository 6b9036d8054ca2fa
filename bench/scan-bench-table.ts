import { columns, formatCount, formatDuration, formatRatio, formatRss } from './format.js';
import type { ProcessFigures, ProcessName, ScanBenchResult } from './scan.js';

interface Goal {
  label: string;
  ours: number;
  peer: ProcessName;
  peerMs: number;
  atLeast: number;
}

const MEASUREMENT_WIDTHS = [36, 11, 15];
const GOAL_WIDTHS = [30, 10, 28, 10, 8, 15];

/** The benchmark's printout: every figure, each goal as figure, peer figure, ratio and goal (spec §8). */
export function scanBenchTable(result: ScanBenchResult, rounds: number, droppedCacheRounds: number): string {
  const { processes, labels, inProcess } = result;
  const lines: string[] = [];
  const processRows = (figures: Record<ProcessName, ProcessFigures>) =>
    (Object.keys(figures) as ProcessName[]).map((name) => measurementRow(labels[name], figures[name]));

  lines.push(`Page cache warm, every run a fresh process (median, min of ${rounds} interleaved rounds; peak RSS):`);
  lines.push(...processRows(processes));
  if ('figures' in result.droppedCache) {
    lines.push(`Page cache dropped before every run, binaries and node_modules included (${droppedCacheRounds} rounds):`);
    lines.push(...processRows(result.droppedCache.figures));
  } else {
    lines.push(`Page cache dropped: skipped, ${result.droppedCache.skipped}.`);
  }
  lines.push('In process, as the running scheduler scans (BackupServerScanner + MemoryScanCache):');
  lines.push(columns(['  first scan() (opens every index)', formatDuration(inProcess.firstScanMs)], MEASUREMENT_WIDTHS));
  lines.push(
    columns(
      ['  repeat scan(), nothing changed', formatDuration(inProcess.repeatScan.median), `min ${formatDuration(inProcess.repeatScan.min)}`],
      MEASUREMENT_WIDTHS,
    ),
  );

  const goals: Goal[] = [
    goal('cold report --json', processes, 'ctlList', 3),
    goal('cold report --json', processes, 'ctlListNoVerify', 1.5),
    { label: 'warm repeat scan()', ours: inProcess.repeatScan.median, peer: 'ctlListNoVerify', peerMs: processes.ctlListNoVerify.wall.median, atLeast: 50 },
  ];
  if ('figures' in result.droppedCache) {
    goals.push(goal('dropped-cache report --json', result.droppedCache.figures, 'ctlList', 3));
    goals.push(goal('dropped-cache report --json', result.droppedCache.figures, 'ctlListNoVerify', 1.5));
  }
  lines.push('', 'Goals (spec §8), ratio = peer median / ours median; goals are reported, never enforced:');
  for (const g of goals) {
    const ratio = g.peerMs / g.ours;
    lines.push(
      columns(
        [
          `  ${g.label}`,
          formatDuration(g.ours),
          labels[g.peer],
          formatDuration(g.peerMs),
          formatRatio(ratio),
          `(goal ≥ ${g.atLeast}×)`,
          ratio >= g.atLeast ? 'met' : 'MISSED',
        ],
        GOAL_WIDTHS,
      ),
    );
  }

  const { staleCounts: c } = result;
  lines.push(
    '',
    `Stale or without a chunk: expected ${formatCount(c.expected)}; report --json ${formatCount(c.ours.stale)} stale + ${formatCount(c.ours.missing)} missing; ` +
      `${labels.ctlList} ${formatCount(c.ctlList)}; ${labels.ctlListNoVerify} ${formatCount(c.ctlListNoVerify)}` +
      (result.problems.length === 0 ? '; same userids in every run.' : '.'),
  );
  return lines.join('\n');
}

function measurementRow(label: string, figures: ProcessFigures): string {
  if (figures.wall.values.length === 0) return columns([`  ${label}`, 'no successful run'], MEASUREMENT_WIDTHS);
  return columns(
    [`  ${label}`, formatDuration(figures.wall.median), `min ${formatDuration(figures.wall.min)}`, `peak RSS ${formatRss(Math.max(...figures.peakRssKb))}`],
    MEASUREMENT_WIDTHS,
  );
}

function goal(label: string, figures: Record<ProcessName, ProcessFigures>, peer: ProcessName, atLeast: number): Goal {
  return { label, ours: figures.report.wall.median, peer, peerMs: figures[peer].wall.median, atLeast };
}
