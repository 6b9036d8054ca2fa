import { Command, Option } from 'commander';

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  logFormat?: LogFormat;
}

/** Options every command takes (spec §3); commands read them with `optsWithGlobals()`. */
export function addGlobalOptions(program: Command): Command {
  return program
    .option('-c, --config <file>', 'configuration file (default: $XBACKUP_SCHEDULER_CONFIG or /etc/xbackup-scheduler/config.yaml)')
    .option('--json', 'print data as JSON')
    .option('-v, --verbose', 'more detail')
    .option('-q, --quiet', 'only errors')
    .addOption(new Option('--log-format <format>', 'log lines as JSON or as text (default: json for run, text on stderr for the other commands)').choices(LOG_FORMATS));
}
