// The printout of list-status-cost.ts: what was measured on the bed, then what it means for a large fleet.
import { columns, formatCount } from './format.js';
import type { VariantFigures } from './list-status-measure.js';
import type { Cost, CostModel } from './list-status-model.js';
import type { Samples } from './samples.js';

export interface Mode {
  label: string;
  figures: VariantFigures[];
  model: CostModel;
}

export interface Fleet {
  users: number;
  mailboxesPerUser: number;
  /** Backups due per minute when each user is due once per maxAge. */
  maxAgesHours: number[];
}

/** More digits than formatDuration for the small per-entry figures. */
function ms(value: number): string {
  if (value >= 100_000) return `${formatCount(Math.round(value / 1000))} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(value >= 10_000 ? 1 : 2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

function spread(samples: Samples, divisor: number): string {
  return `${ms(samples.median / divisor)} (${ms(samples.min / divisor)}–${ms(samples.max / divisor)})`;
}

const MEASURED_WIDTHS = [40, 10, 30];

export function measuredTable(mode: Mode, bedMailboxes: number): string {
  const lines = [
    `statuscache: ${mode.label}`,
    columns(['  variant', 'commands', 'wall, median (min–max)', 'imapd CPU (utime+stime), median (min–max)'], MEASURED_WIDTHS),
  ];
  for (const figures of mode.figures) {
    const { variant } = figures;
    // Per 1,000 mailboxes asked for; scan-only: per command and 1,000 mailboxes.db entries walked.
    const divisor = variant.unit === 'mailboxes' ? bedMailboxes / 1000 : (variant.commands.length * bedMailboxes) / 1000;
    lines.push(
      columns([`  ${variant.label}`, formatCount(variant.commands.length), spread(figures.wall, divisor), spread(figures.cpu, divisor)], MEASURED_WIDTHS),
    );
  }
  const check = [...mode.model.check].map(
    ([size, { predicted, measured }]) => `${size}/command ${ms(predicted.cpuMs)} vs ${ms(measured.cpuMs)}`,
  );
  lines.push(`  model check, (c) sweep CPU predicted vs measured: ${check.join('; ')}`);
  return lines.join('\n');
}

interface Strategy {
  label: string;
  runsPerHour: number;
  cost: (model: CostModel) => Cost;
}

function strategies(fleet: Fleet, groupSizes: readonly number[]): Strategy[] {
  const mailboxes = fleet.users * fleet.mailboxesPerUser;
  const list: Strategy[] = [
    { label: 'today: (a) LIST (SIZE), hourly discovery', runsPerHour: 1, cost: (m) => m.full('a', mailboxes) },
    { label: '(b) LIST 5 items, every minute', runsPerHour: 60, cost: (m) => m.full('b', mailboxes) },
    { label: '(b) LIST 5 items, hourly discovery', runsPerHour: 1, cost: (m) => m.full('b', mailboxes) },
  ];
  for (const hours of fleet.maxAgesHours) {
    const due = Math.ceil(fleet.users / (hours * 60));
    for (const size of groupSizes) {
      list.push({
        label: `(c) due users, ${size}/command, maxAge ${hours}h: ${formatCount(due)}/min`,
        runsPerHour: 60,
        cost: (m) => m.byUsers(due, size, mailboxes, fleet.mailboxesPerUser),
      });
    }
    list.push({
      label: `(d) due users' STATUS, maxAge ${hours}h: ${formatCount(due * fleet.mailboxesPerUser)}/min`,
      runsPerHour: 60,
      cost: (m) => m.byStatus(due * fleet.mailboxesPerUser),
    });
  }
  return list;
}

function share(ofOneCore: number): string {
  return `${(ofOneCore * 100).toFixed(ofOneCore >= 1 ? 0 : 1)}%`;
}

const FLEET_WIDTHS = [52, 8, 11, 11, 11, 11];

/** imapd CPU per hour, and its share of one core; per run wall time as the tool would wait for it. */
export function fleetTable(modes: readonly Mode[], fleet: Fleet, groupSizes: readonly number[]): string {
  const [plain, ...others] = modes;
  const header = ['  strategy', 'runs/h', 'run: wall', 'run: CPU', 'CPU/h', 'of a core'];
  const lines = [
    `At ${formatCount(fleet.users)} users × ${fleet.mailboxesPerUser} = ${formatCount(fleet.users * fleet.mailboxesPerUser)} mailboxes on one server ` +
      `(statuscache ${plain!.label}; last column: CPU/h with statuscache ${others.map((m) => m.label).join(', ')}):`,
    columns([...header, ...others.map(() => 'CPU/h, cache')], FLEET_WIDTHS),
  ];
  for (const strategy of strategies(fleet, groupSizes)) {
    const run = strategy.cost(plain!.model);
    const hourly = run.cpuMs * strategy.runsPerHour;
    const cached = others.map((mode) => ms(strategy.cost(mode.model).cpuMs * strategy.runsPerHour));
    lines.push(
      columns(
        [`  ${strategy.label}`, String(strategy.runsPerHour), ms(run.wallMs), ms(run.cpuMs), ms(hourly), share(hourly / 3_600_000), ...cached],
        FLEET_WIDTHS,
      ),
    );
  }
  return lines.join('\n');
}
