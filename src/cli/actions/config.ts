import { effectiveConfig } from '../../config/effective.js';
import { ConfigError, ConfigErrors } from '../../config/errors.js';
import { configFileFromEnv, loadConfig } from '../../config/load.js';
import { redactConfig } from '../../config/redact.js';
import { ExitCode } from '../../errors/exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { configInvalidJson, configShowText, configValidLine } from '../output/config-lines.js';
import type { CliIo } from '../program.js';

/**
 * `config validate`: the file loaded as every command loads it, without its secrets (no password or
 * token file read): nothing but the file itself is opened. Problems are the loader's errors (exit 2).
 */
export function runConfigValidate(opts: GlobalOptions, io: CliIo, setExit: (code: number) => void): void {
  const file = configFileFromEnv(opts.config, io.env);
  try {
    const config = loadConfig(file, { env: io.env });
    io.stdout(configValidLine(config.file, config.servers.length, opts.json ?? false));
  } catch (err) {
    if (!opts.json || !(err instanceof ConfigError || err instanceof ConfigErrors)) throw err;
    io.stdout(configInvalidJson(file, err instanceof ConfigErrors ? err.errors : [err]));
    setExit(ExitCode.usageOrConfig);
  }
}

/** `config show`: the effective config, secrets redacted; password and token files are named, never read. */
export function runConfigShow(opts: GlobalOptions, io: CliIo): void {
  const config = loadConfig(configFileFromEnv(opts.config, io.env), { env: io.env });
  io.stdout(configShowText(config.file, redactConfig(effectiveConfig(config)), opts.json ?? false));
}
