// The report's output formats: a new one is a writer in this folder and one line here. Each loads its
// writer only when chosen, so the CLI's other commands never pay for them.
import type { StalenessReport } from '../../staleness/report.js';

export interface ReportWriteOptions {
  /** Nagios thresholds. */
  warnAge: number;
  critAge: number;
  warnMessages?: number | undefined;
  critMessages?: number | undefined;
  /** IMAP servers that could not be asked for their users. */
  unaskedServers: readonly string[];
}

/** What a format writes, and the exit code it asks for (Nagios's status; others none). */
export interface WrittenReport {
  chunks: Iterable<string>;
  exitCode?: number;
}

interface ReportFormatEntry {
  write(report: StalenessReport, options: ReportWriteOptions): Promise<WrittenReport>;
  /** When the backup server cannot be read at all: a format that must still answer (a monitoring check) says so its own way. */
  cannotRead?(reason: string): Promise<WrittenReport>;
}

const nagiosWritten = ({ text, exitCode }: { text: string; exitCode: number }): WrittenReport => ({ chunks: [text], exitCode });

const FORMATS = {
  table: { write: async (report) => ({ chunks: [(await import('./report-table.js')).writeReportTable(report)] }) },
  json: { write: async (report) => ({ chunks: (await import('./report-json.js')).reportJsonChunks(report) }) },
  csv: { write: async (report) => ({ chunks: [(await import('./report-csv.js')).writeReportCsv(report)] }) },
  prometheus: { write: async (report) => ({ chunks: [await (await import('./report-prometheus.js')).writeReportPrometheus(report)] }) },
  nagios: {
    write: async (report, options) => nagiosWritten((await import('./report-nagios.js')).writeReportNagios(report, options)),
    cannotRead: async (reason) => nagiosWritten((await import('./report-nagios.js')).nagiosUnknown(reason)),
  },
} satisfies Record<string, ReportFormatEntry>;

export type ReportFormat = keyof typeof FORMATS;

export const REPORT_FORMATS: Readonly<Record<ReportFormat, ReportFormatEntry>> = FORMATS;

export const REPORT_FORMAT_NAMES = Object.keys(FORMATS) as ReportFormat[];
