// The report's output formats: a new one is a writer in this folder and one line here. Each loads its
// writer only when chosen, so the CLI's other commands never pay for them.
import type { StalenessReport } from '../../staleness/report.js';
import type { NagiosThresholds } from './report-nagios.js';
import { UsageError } from '../usage-error.js';

/** What the formats are given besides the report: only the Nagios check reads it (its thresholds and what it covers). */
export type ReportWriteOptions = NagiosThresholds;

/** What a format writes, and the exit code it asks for (Nagios's status; others none). */
export interface WrittenReport {
  chunks: Iterable<string>;
  exitCode?: number;
}

interface ReportFormatEntry {
  write(report: StalenessReport, options: ReportWriteOptions): Promise<WrittenReport>;
  /** When the backup server cannot be read at all: a format that must still answer (a monitoring check) says so its own way. */
  cannotRead?(reason: string): Promise<WrittenReport>;
  /**
   * A format that is a monitoring check: its thresholds and timeout. A check covers what it was asked
   * about, so `--user` narrows its counts too, where the other formats narrow the users listed and keep
   * counting everyone (a listing must not lose sight of anyone).
   */
  check?(): Promise<MonitoringCheck>;
}

export interface MonitoringCheck {
  /** The thresholds from the options as given; throws a UsageError for those that cannot work. */
  thresholds(given: ThresholdOptions, maxAge: number): Pick<NagiosThresholds, 'warnAge' | 'critAge' | 'warnMessages' | 'critMessages'>;
  /** The bound on the whole check when --timeout is not given (ms). */
  defaultTimeout: number;
}

/** The threshold options of `report`, as given (unset when not); only a monitoring check reads them. */
export interface ThresholdOptions {
  warnAge?: number | undefined;
  critAge?: number | undefined;
  warnMessages?: number | undefined;
  critMessages?: number | undefined;
}

export const THRESHOLD_OPTIONS: Readonly<Record<keyof ThresholdOptions, string>> = {
  warnAge: '--warn-age',
  critAge: '--crit-age',
  warnMessages: '--warn-messages',
  critMessages: '--crit-messages',
};

const nagiosWritten = ({ text, exitCode }: { text: string; exitCode: number }): WrittenReport => ({ chunks: [text], exitCode });

const FORMATS = {
  table: { write: async (report) => ({ chunks: [(await import('./report-table.js')).writeReportTable(report)] }) },
  json: { write: async (report) => ({ chunks: (await import('./report-json.js')).reportJsonChunks(report) }) },
  csv: { write: async (report) => ({ chunks: [(await import('./report-csv.js')).writeReportCsv(report)] }) },
  prometheus: { write: async (report) => ({ chunks: [await (await import('./report-prometheus.js')).writeReportPrometheus(report)] }) },
  nagios: {
    write: async (report, options) => nagiosWritten((await import('./report-nagios.js')).writeReportNagios(report, options)),
    cannotRead: async (reason) => nagiosWritten((await import('./report-nagios.js')).nagiosUnknown(reason)),
    check: async () => (await import('./report-nagios.js')).NAGIOS_CHECK,
  },
} satisfies Record<string, ReportFormatEntry>;

export type ReportFormat = keyof typeof FORMATS;

export const REPORT_FORMATS: Readonly<Record<ReportFormat, ReportFormatEntry>> = FORMATS;

export const REPORT_FORMAT_NAMES = Object.keys(FORMATS) as ReportFormat[];

/**
 * The format asked for: `--json` is `--format json`, so with another `--format` given the two disagree,
 * and which one wins would be a guess.
 */
export function chosenFormat(json: boolean | undefined, format: ReportFormat, formatGiven: boolean): ReportFormat {
  if (!json) return format;
  if (formatGiven && format !== 'json') {
    throw new UsageError(`--json and --format ${format} ask for two different outputs: give one of them (--json is the same as --format json)`);
  }
  return 'json';
}

/** Threshold options given with a format that is no check would be ignored in silence: refused instead. */
export function refuseThresholds(format: ReportFormat, given: ThresholdOptions): void {
  const stray = (Object.keys(THRESHOLD_OPTIONS) as Array<keyof ThresholdOptions>).filter((key) => given[key] !== undefined);
  if (stray.length > 0 && !REPORT_FORMATS[format].check) {
    throw new UsageError(`${stray.map((key) => THRESHOLD_OPTIONS[key]).join(', ')} ${stray.length === 1 ? 'is' : 'are'} for --format nagios only, not --format ${format}`);
  }
}
