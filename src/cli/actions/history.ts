import { configFileFromEnv, loadConfig } from '../../config/load.js';
import { AttemptLog } from '../../scheduler/state/attempt-log.js';
import { MaintenanceLog } from '../../scheduler/state/maintenance-log.js';
import { openStateDbReadOnly } from '../../scheduler/state/open-state-db.js';
import { InstanceLock } from '../../scheduler/state/instance-lock.js';
import { historyJsonLine, historyTextLine, maintenanceJsonLine, maintenanceTextLine, noHistoryLine } from '../output/history-lines.js';
import type { CliIo } from '../program.js';
import type { HistoryOptions } from '../commands.js';

/** `history [userid]`: past attempts (or with --maintenance, the maintenance lane's runs) from the state database, newest first. */
export function runHistory(userid: string | undefined, opts: HistoryOptions, io: CliIo): void {
  const config = loadConfig(configFileFromEnv(opts.config, io.env));
  const db = openStateDbReadOnly(config.state);
  if (!db) {
    if (!opts.json) io.stdout(noHistoryLine({ stateFile: config.state }));
    return;
  }
  try {
    // A run or attempt still open with no scheduler alive was cut off by a crash: the next start closes it so.
    const running = InstanceLock.isHeld(config.state);
    const lines = opts.maintenance
      ? new MaintenanceLog(db)
          .recent(opts.limit, userid)
          .map((r) => (running || r.endedAt !== null ? r : { ...r, outcome: 'interrupted' }))
          .map((r) => (opts.json ? maintenanceJsonLine(r) : maintenanceTextLine(r)))
      : new AttemptLog(db)
          .history({ userid, limit: opts.limit })
          .map((a) => (running || a.endedAt !== null ? a : { ...a, outcome: 'interrupted' as const }))
          .map((a) => (opts.json ? historyJsonLine(a) : historyTextLine(a)));
    for (const line of lines) io.stdout(line);
    if (!opts.json && lines.length === 0) io.stdout(noHistoryLine({ userid, maintenance: opts.maintenance === true }));
  } finally {
    db.close();
  }
}
