// The oldest backup an admin would have seen while `run` ran: `report --json` every ~10 s, as a
// monitoring check would ask. --no-discovery, so the report shows what the scheduler knows (its
// remembered lastInSync) rather than a comparison of its own, and adds no LIST to imapd's load.
import { setTimeout as sleep } from 'node:timers/promises';
import { runCliProcess } from '../test/support/run-cli.js';

export interface WorstAge {
  seconds: number;
  userid: string | null;
  /** When the report that showed it was generated (ms). */
  at: number | null;
  reports: number;
  problems: string[];
}

interface ReportUser {
  userid: string;
  state: string;
  ageSeconds: number | null;
}

const POLL_MS = 10_000;

/** Polls until `signal` aborts; polls never overlap, and a slow report only delays the next one. */
export async function pollWorstAge(config: string, signal: AbortSignal): Promise<WorstAge> {
  const worst: WorstAge = { seconds: 0, userid: null, at: null, reports: 0, problems: [] };
  while (!signal.aborted) {
    const started = Date.now();
    const result = await runCliProcess(['report', '--json', '--no-discovery', '-c', config], { timeoutMs: 120_000 });
    if (result.code !== 0) {
      worst.problems.push(`report exited ${result.code}: ${result.stderr.trim().split('\n')[0] ?? ''}`);
    } else {
      const report = JSON.parse(result.stdout) as { generatedAt: string; users: ReportUser[] };
      worst.reports++;
      for (const u of report.users) {
        if (u.state === 'missing' || u.ageSeconds === null || u.ageSeconds <= worst.seconds) continue;
        Object.assign(worst, { seconds: u.ageSeconds, userid: u.userid, at: Date.parse(report.generatedAt) });
      }
    }
    await sleep(Math.max(0, started + POLL_MS - Date.now()), undefined, { signal }).catch(() => undefined);
  }
  return worst;
}
