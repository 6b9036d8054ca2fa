import { configFileFromEnv, loadConfig, type ServerConfig } from '../../config/load.js';
import type { BackupResult } from '../../scheduler/backup-result.js';
import { executeForcedBackup, planForcedBackup, skippedTargets, validateRequestedPatterns, type SkippedTarget } from '../../scheduler/force-backup.js';
import { openFor } from '../scheduler-setup.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { commandLogger } from '../logger.js';
import { backupResultJson, backupResultLine, backupSummary, forcedBackupDryRun, skippedJson, skippedLine } from '../output/backup-result-lines.js';
import type { CliIo } from '../program.js';
import { UsageError } from '../usage-error.js';
import type { BackupOptions } from '../commands.js';

/** `backup <pattern...>`: forced backups, each result printed as it arrives. */
export async function runBackup(patterns: string[], opts: BackupOptions, io: CliIo, setExit: (code: number) => void): Promise<void> {
  // Refused before the config's secrets are even read, let alone a connection made.
  validateRequestedPatterns(patterns);
  const config = loadConfig(configFileFromEnv(opts.config, io.env), { secrets: true });
  checkServerName(config.servers, opts.server, config.file);
  const logger = commandLogger(opts);
  const plan = await planForcedBackup(config.servers, patterns, { onlyServer: opts.server, logger });
  let failed = 0;
  const print = (r: BackupResult) => {
    if (r.outcome !== 'ok') failed++;
    io.stdout(opts.json ? backupResultJson(r) : backupResultLine(r));
  };
  plan.refused.forEach(print);
  if (opts.dryRun) {
    io.stdout(forcedBackupDryRun(plan.targets, opts.json ?? false));
    setExit(failed > 0 ? ExitCode.someWorkFailed : ExitCode.ok);
    return;
  }
  const { parts } = openFor(config, logger, { onResult: print });
  let results;
  let skipped: SkippedTarget[];
  try {
    results = await executeForcedBackup(plan, parts.executor);
    skipped = skippedTargets(plan, results, parts.serverStates.all(), Date.now());
  } finally {
    await parts.close();
  }
  for (const s of skipped) io.stdout(opts.json ? skippedJson(s) : skippedLine(s));
  const ok = results.filter((r) => r.outcome === 'ok').length;
  io.stdout(backupSummary({ ok, failed, skipped: skipped.length }, opts.json ?? false));
  setExit(failed > 0 || skipped.length > 0 ? ExitCode.someWorkFailed : ExitCode.ok);
}

function checkServerName(servers: ServerConfig[], name: string | undefined, file: string): void {
  if (servers.length === 0) throw new UsageError(`${file} configures no IMAP server (servers:)`);
  if (name !== undefined && !servers.some((s) => s.name === name)) {
    throw new UsageError(`--server ${name}: no such server in ${file}; configured: ${servers.map((s) => s.name).join(', ')}`);
  }
}
