import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupResult } from '../../scheduler/backup-result.js';
import { runBootstrap } from '../../scheduler/bootstrap-run.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { commandLogger } from '../logger.js';
import { backupResultJson, backupResultLine, backupSummaryJson } from '../output/backup-result-lines.js';
import { BootstrapProgress } from '../output/bootstrap-progress.js';
import { formatBytes } from '../../units/size.js';
import type { CliIo } from '../program.js';
import { setUpScheduler } from '../scheduler-setup.js';
import type { BootstrapOptions } from '../commands.js';

/** `bootstrap`: first backups a group at a time, results as they arrive; a signal stops it after the backups in flight. */
export async function runBootstrapCommand(opts: BootstrapOptions, io: CliIo, setExit: (code: number) => void): Promise<void> {
  const logger = commandLogger(opts);
  const progress = !opts.json && !opts.dryRun && process.stderr.isTTY ? new BootstrapProgress() : null;
  let ok = 0;
  let failed = 0;
  const onResult = (r: BackupResult) => {
    if (r.outcome === 'ok') ok++;
    else failed++;
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
      const groups = await setup.parts.cycle.previewGroups();
      groups.forEach((g, i) =>
        io.stdout(opts.json ? `${JSON.stringify({ group: i + 1, users: g.users.map((u) => u.userid), bytes: g.bytes })}\n` : `group ${i + 1} (${formatBytes(g.bytes)}): ${g.users.map((u) => `${u.userid}@${u.server}`).join(', ')}\n`),
      );
      if (!opts.json) io.stdout(`${groups.reduce((n, g) => n + g.users.length, 0)} users in ${groups.length} groups\n`);
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
          else if (!opts.json) io.stdout(`group of ${group.users.length} (${formatBytes(group.bytes)}): ${group.users.map((u) => u.userid).join(', ')}; ${missing} users never backed up\n`);
        },
        onWait: (why, until) => {
          if (!opts.json && !progress) io.stdout(`waiting until ${new Date(until).toISOString()}: ${why}\n`);
        },
      },
    });
    progress?.stop();
    for (const h of outcome.leftOver) io.stderr(`left for later: ${h.userid}: ${h.reason}: ${h.detail}\n`);
    io.stdout(opts.json ? backupSummaryJson(ok, failed) : `bootstrap: ${ok} ok, ${failed} failed, ${outcome.leftOver.length} left for later\n`);
    setExit(failed > 0 || outcome.leftOver.length > 0 || stopping ? ExitCode.someWorkFailed : ExitCode.ok);
  } finally {
    progress?.stop();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await setup.parts.close();
    setup.lock?.release();
  }
}
