import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { configFileFromEnv, loadConfig } from '../../config/load.js';
import { AttemptLog } from '../../scheduler/state/attempt-log.js';
import { openStateDbReadOnly } from '../../scheduler/state/open-state-db.js';
import type { GlobalOptions } from '../global-options.js';
import { historyJsonLine, historyTextLine } from '../output/history-lines.js';
import type { CliIo } from '../program.js';

interface HistoryOptions extends GlobalOptions {
  limit: number;
}

export function registerHistory(program: Command, io: CliIo): void {
  program
    .command('history')
    .description('past backup attempts, newest first')
    .argument('[userid]', 'only this user')
    .option('--limit <n>', 'at most n attempts', (t: string) => {
      const n = Number(t);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
      return n;
    }, 100)
    .action(async (userid: string | undefined, _opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<HistoryOptions>();
      const config = loadConfig(configFileFromEnv(opts.config, io.env));
      const db = openStateDbReadOnly(config.state);
      if (!db) {
        if (!opts.json) io.stdout(`no history yet: ${config.state} does not exist (the scheduler has not run)\n`);
        return;
      }
      try {
        const attempts = new AttemptLog(db).history({ userid, limit: opts.limit });
        for (const a of attempts) io.stdout(opts.json ? historyJsonLine(a) : historyTextLine(a));
        if (!opts.json && attempts.length === 0) io.stdout(userid ? `no attempts for ${userid}\n` : 'no attempts yet\n');
      } finally {
        db.close();
      }
    });
}
