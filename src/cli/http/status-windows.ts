// The status page's windows: each configured window open or closed and when that changes, and the
// first-backup budget used in bootstrap.window's current opening.
import type { DailyWindow } from '../../units/daily-window.js';
import { windowState } from '../../units/daily-window.js';
import { isoOrNull } from '../../units/time.js';
import type { RunView } from './run-view.js';

export function windowsPart(view: RunView, now: number): object {
  const config = view.config();
  const windows: Array<[string, DailyWindow | undefined]> = [
    ['bootstrap.window', config.bootstrap.window],
    ['policy.window', config.policy.window],
    ['maintenance.window', config.maintenance.window],
  ];
  const budget = config.bootstrap.maxBytesPerWindow;
  return {
    windows: windows.flatMap(([key, window]) => {
      if (window === undefined) return [];
      const state = windowState(window, now);
      return [{ key, window: window.text, open: state.open, opensAt: isoOrNull(state.opensAt), closesAt: isoOrNull(state.closesAt) }];
    }),
    firstBackupBudget: budget === undefined ? null : { maxBytes: budget.text, maxBytesValue: budget.value, usedBytes: view.bootstrapBytesThisWindow(now), per: config.bootstrap.window ? 'bootstrap.window' : 'day' },
  };
}
