import { configFileFromEnv, loadConfig } from '../../config/load.js';
import { AttemptLog } from '../../scheduler/state/attempt-log.js';
import { openStateDbReadOnly } from '../../scheduler/state/open-state-db.js';
import { InstanceLock } from '../../scheduler/state/instance-lock.js';
import { historyJsonLine, historyTextLine, noHistoryLine } from '../output/history-lines.js';
import type { CliIo } from '../program.js';
import type { HistoryOptions } from '../commands.js';

/** `history [userid]`: past attempts from the state database, newest first. */
export function runHistory(userid: string | undefined, opts: HistoryOptions, io: CliIo): void {
  const config = loadConfig(configFileFromEnv(opts.config, io.env));
  const db = openStateDbReadOnly(config.state);
  if (!db) {
    if (!opts.json) io.stdout(noHistoryLine({ stateFile: config.state }));
    return;
  }
  try {
    // An attempt still open with no scheduler alive was cut off by a crash: the next start closes it so.
    const running = InstanceLock.isHeld(config.state);
    const attempts = new AttemptLog(db).history({ userid, limit: opts.limit }).map((a) => (running || a.endedAt !== null ? a : { ...a, outcome: 'interrupted' as const }));
    for (const a of attempts) io.stdout(opts.json ? historyJsonLine(a) : historyTextLine(a));
    if (!opts.json && attempts.length === 0) io.stdout(noHistoryLine({ userid }));
  } finally {
    db.close();
  }
}
