// in-sync-run.ts's printout: one row per mode, the ratios the issue's goal is stated in, and what
// each mode left unexplained (messages still waiting, XBACKUPs without new mail, failed attempts).
import { columns, formatRatio } from './format.js';
import type { ModeResult } from './in-sync-mode.js';

const WIDTHS = [24, 10, 15, 8, 17, 20];

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;
/** Where in the timed part something happened, for finding it in the run's log. */
const offset = (m: ModeResult, at: number) => `t+${seconds(at - m.startedAt)}`;

export function resultTable(modes: readonly [ModeResult, ModeResult]): string {
  const lines = [
    columns(['mode', 'commands', 'user attempts', 'chunks', 'in-sync records', 'worst message wait', 'worst backup age'], WIDTHS),
    ...modes.map((m) =>
      columns(
        [
          m.label,
          String(m.costs.commands),
          String(m.costs.userAttempts),
          String(m.chunks),
          String(m.costs.inSyncRecords),
          m.waits.worstBackedUp ? `${seconds(m.waits.worstBackedUpMs)} (${m.waits.worstBackedUp.userid})` : '-',
          m.worstAge.userid ? `${m.worstAge.seconds} s (${m.worstAge.userid})` : '-',
        ],
        WIDTHS,
      ),
    ),
  ];
  const [today, compared] = modes;
  const ratio = (a: number, b: number) => (b === 0 ? `${a} vs 0` : formatRatio(a / b));
  lines.push(`today/comparison: commands ${ratio(today.costs.commands, compared.costs.commands)}, chunks ${ratio(today.chunks, compared.chunks)}, user attempts ${ratio(today.costs.userAttempts, compared.costs.userAttempts)}`);
  return lines.join('\n');
}

export function modeNotes(m: ModeResult): string {
  const w = m.waits;
  const outcomes = Object.entries(m.costs.outcomes).map(([o, n]) => `${o} ${n}`).join(', ');
  const notes = [
    `${m.label}: ${m.deliveries.length} messages, ${w.backedUp} backed up` +
      (w.worstBackedUp ? ` (worst appended at ${offset(m, w.worstBackedUp.appendedAt)})` : '') +
      `, ${w.stillWaiting} still waiting at the end` +
      (w.worstStillWaiting ? ` (longest ${seconds(w.worstStillWaitingMs)}, ${w.worstStillWaiting.userid} since ${offset(m, w.worstStillWaiting.appendedAt)})` : ''),
    `  attempts by outcome: ${outcomes || 'none'}; XBACKUPs of users without new mail since their last backup: ${m.unprompted.length}` +
      `; most per user: ${m.busiest.map((b) => `${b.userid} ${b.attempts}`).join(', ') || '-'}`,
    `  worst age seen at ${m.worstAge.at === null ? '-' : offset(m, m.worstAge.at)} over ${m.worstAge.reports} reports; backup '*' before: ${seconds(m.startBackupMs)}; ` +
      `run exited ${m.exit.code} ${seconds(m.exit.ms)} after SIGTERM; load average ${fmtLoad(m.load.before)} → ${fmtLoad(m.load.after)}`,
  ];
  return notes.join('\n');
}

const fmtLoad = (load: readonly number[]) => load.map((l) => l.toFixed(2)).join(' ');
