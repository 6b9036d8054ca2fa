import { Command } from 'commander';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

/** Options every command takes (spec §3); commands read them with `optsWithGlobals()`. */
export function addGlobalOptions(program: Command): Command {
  return program
    .option('-c, --config <file>', 'configuration file (default: $XBACKUP_SCHEDULER_CONFIG or /etc/xbackup-scheduler/config.yaml)')
    .option('--json', 'print data as JSON')
    .option('-v, --verbose', 'more detail')
    .option('-q, --quiet', 'only errors');
}
