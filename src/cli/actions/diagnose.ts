import { arch, platform, release, version as osVersion } from 'node:os';
import { cyrusToolVersion } from '../../backupd/cyrus-tool-version.js';
import { effectiveConfig } from '../../config/effective.js';
import { ConfigError, ConfigErrors } from '../../config/errors.js';
import { configFileFromEnv, loadConfig, type Config } from '../../config/load.js';
import { redactConfig } from '../../config/redact.js';
import { AttemptLog } from '../../scheduler/state/attempt-log.js';
import { openStateDbReadOnly } from '../../scheduler/state/open-state-db.js';
import { stateDbFigures } from '../../scheduler/state/state-db-figures.js';
import type { DiagnoseOptions } from '../commands.js';
import { commandLogger } from '../logger.js';
import type { CheckLine } from '../output/check-lines.js';
import { attemptsSummary, diagnoseJson, Pseudonyms, scrubCheckLine, type AttemptsSummary, type DiagnoseReport } from '../output/diagnose-report.js';
import type { CliIo } from '../program.js';
import { packageVersion } from '../version.js';
import { checkLoadedConfig, type ImapVersions } from './check.js';

/**
 * `diagnose`: everything a bug report needs, as one JSON document, whatever state the installation is
 * in: a config that does not load is reported, not fatal. Passwords are read only to log in for the
 * check, and nothing that holds one goes into the document (see DiagnoseReport).
 */
export async function runDiagnose(opts: DiagnoseOptions, io: CliIo): Promise<void> {
  const file = configFileFromEnv(opts.config, io.env);
  let config: Config | undefined;
  let configErrors: string[] | undefined;
  try {
    config = loadConfig(file, { secrets: 'lenient', env: io.env });
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof ConfigErrors)) throw err;
    configErrors = (err instanceof ConfigErrors ? err.errors : [err]).map((e) => e.message);
  }
  const pseudonyms = opts.userids ? undefined : new Pseudonyms();
  const check: CheckLine[] = [];
  let imapVersions: ImapVersions = {};
  if (config) imapVersions = await checkLoadedConfig(config, undefined, (line) => check.push(line), commandLogger(opts));
  const attempts = config ? recentAttempts(config.state, opts.attempts, pseudonyms) : null;
  const report: DiagnoseReport = {
    tool: { name: 'xbackup-scheduler', version: packageVersion() },
    node: process.version,
    os: { platform: platform(), release: release(), version: osVersion(), arch: arch() },
    generatedAt: new Date().toISOString(),
    cyrus: {
      backupServer: config ? await cyrusToolVersion(config.backupd.ctlBackups, config.backupd.imapdConf) : null,
      imapServers: imapVersions,
    },
    config: config ? { file: config.file, effective: redactConfig(effectiveConfig(config)) } : { file, errors: configErrors ?? [] },
    check: pseudonyms ? check.map((line) => scrubCheckLine(line, pseudonyms)) : check,
    attempts,
    stateDb: config ? stateDbFigures(config.state) : null,
  };
  io.stdout(diagnoseJson(report));
}

function recentAttempts(stateFile: string, limit: number, pseudonyms: Pseudonyms | undefined): AttemptsSummary | null {
  let db: ReturnType<typeof openStateDbReadOnly>;
  try {
    db = openStateDbReadOnly(stateFile);
  } catch {
    return null; // stateDb says why it cannot be read
  }
  if (!db) return null;
  try {
    return attemptsSummary(new AttemptLog(db).history({ limit }), pseudonyms);
  } finally {
    db.close();
  }
}
