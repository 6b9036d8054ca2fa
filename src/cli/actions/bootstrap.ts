import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupResult } from '../../scheduler/backup-result.js';
import { runBootstrap, tallyBootstrap } from '../../scheduler/bootstrap-run.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { commandLogger } from '../logger.js';
import { backupResultJson, backupResultLine } from '../output/backup-result-lines.js';
import { bootstrapDryRun, bootstrapGroupLine, bootstrapSummary, bootstrapWaitLine, leftOverLines } from '../output/bootstrap-lines.js';
import { BootstrapProgress } from '../output/bootstrap-progress.js';
import type { CliIo } from '../program.js';
import { setUpScheduler } from '../scheduler-setup.js';
import type { BootstrapOptions } from '../commands.js';

/** `bootstrap`: first backups a group at a time, results as they arrive; a signal stops it after the backups in flight. */
export async function runBootstrapCommand(opts: BootstrapOptions, io: CliIo, setExit: (code: number) => void): Promise<void> {
  const logger = commandLogger(opts);
  const progress = !opts.json && !opts.dryRun && process.stderr.isTTY ? new BootstrapProgress() : null;
  const onResult = (r: BackupResult) => {
    if (opts.json) io.stdout(backupResultJson(r));
    else if (progress) progress.result(r);
    else io.stdout(backupResultLine(r));
  };
  const setup = setUpScheduler(opts, io.env, logger, {
    exclusive: 'bootstrap',
    onResult,
    adjust: (c) => ({
      ...c,
      bootstrap: {
        ...c.bootstrap,
        ...(opts.groupSize !== undefined && { groupSize: opts.groupSize }),
        ...(opts.maxGroupBytes !== undefined && { maxGroupBytes: opts.maxGroupBytes }),
        ...(opts.pause !== undefined && { pause: opts.pause }),
      },
    }),
  });
  let stopping = false;
  const onSignal = () => {
    stopping = true;
    io.stderr('stopping after the backups in flight; run bootstrap again to go on\n');
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    if (opts.dryRun) {
      const { window = null, maxBytesPerWindow = null } = setup.config.bootstrap;
      io.stdout(bootstrapDryRun(await setup.parts.cycle.previewBootstrap(), { window, budget: maxBytesPerWindow }, opts.json ?? false));
      return;
    }
    const outcome = await runBootstrap(setup.parts.cycle, {
      logger,
      now: Date.now,
      sleep,
      shouldStop: () => stopping,
      events: {
        onGroup: (group, missing, missingBytes) => {
          if (progress) progress.group(group, missing, missingBytes);
          else if (!opts.json) io.stdout(bootstrapGroupLine(group, missing));
        },
        onWait: (why, until) => {
          if (!opts.json && !progress) io.stdout(bootstrapWaitLine(why, until));
        },
      },
    });
    progress?.stop();
    io.stderr(leftOverLines(outcome.leftOver));
    const tally = tallyBootstrap(outcome);
    io.stdout(bootstrapSummary(tally, opts.json ?? false));
    setExit(tally.failed > 0 || tally.leftOver > 0 || stopping ? ExitCode.someWorkFailed : ExitCode.ok);
  } finally {
    progress?.stop();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await setup.parts.close();
    setup.lock?.release();
  }
}
