// Health that tells the truth, against real Cyrus: backupd stopped under a running `run` keeps the IMAP
// server paused (gauge 1, /healthz 503) across its breaker's probes, with no 0 or 200 in between; the cycles
// count as failures and the last success stays where it was; a restart into that state still has the
// last-success gauge and the pause; once backupd is back, one probe that succeeds closes the breaker.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeBedConfig } from '../support/bed-config.js';
import { freePort } from '../support/free-port.js';
import { parsePrometheusText, sampleValue, type ParsedMetrics } from '../support/prometheus-text.js';
import { startCliProcess, type RunningCli } from '../support/run-cli.js';
import { useBed } from '../support/use-bed.js';
import { waitFor } from '../support/wait-for.js';

const USERS = ['h1', 'h2', 'h3'];
/** Breaker probes seen while backupd is down, each followed by scrapes. */
const PROBES = 3;

interface Scrape {
  metrics: ParsedMetrics;
  healthz: number;
}

/** The breaker's consecutive failures, from the state database: one more per failed probe. */
function breakerFailures(stateFile: string): number {
  const db = new Database(stateFile, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT consecutive_failures AS n FROM server_state WHERE server = 'imap1'").get() as { n: number } | undefined;
    return row?.n ?? 0;
  } finally {
    db.close();
  }
}

const gauge = (m: ParsedMetrics, name: string, labels: Record<string, string> = {}): number | undefined => {
  const found = m.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found?.value;
};

describe('health against real Cyrus: backupd stopped under a running scheduler', () => {
  const { bed, work } = useBed({
    scratch: 'xbs-health-',
    async setup() {
      for (const userid of USERS) await bed.createUser(userid, { messages: 2 });
    },
  });

  test('paused stays 1 and /healthz 503 across probes; failures counted; last success kept, also across a restart; a successful probe closes the breaker', { timeout: 300_000 }, async (t) => {
    const dir = join(work, 'run');
    const state = join(dir, 'state.db');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/`;
    // Every user due every cycle (ages alone, no comparison with the mailboxes), a cycle every 2 s, and a
    // breaker backoff of 1-2 s: each cycle while backupd is down is a probe or a held cycle.
    const config = writeBedConfig(bed, dir, {
      extra: `policy:\n  schedule: "*/2 * * * * *"\n  maxAge: 4s\n  compareLive: false\nretry:\n  baseDelay: 1s\n  maxDelay: 2s\nbootstrap:\n  groupSize: 10\n  pause: 0s\nhttp:\n  listen: "127.0.0.1:${port}"\n`,
    });
    let running: RunningCli = startCliProcess(['run', '-c', config]);
    t.after(async () => {
      running.child.kill('SIGKILL');
      await bed.startBackupd().catch(() => undefined);
    });
    const output = () => `${running.output().stdout.slice(-3000)}${running.output().stderr.slice(-2000)}`;
    const scrape = async (): Promise<Scrape | undefined> => {
      try {
        const [metrics, healthz] = await Promise.all([fetch(new URL('metrics', base)).then((r) => r.text()), fetch(new URL('healthz', base)).then((r) => r.status)]);
        return { metrics: parsePrometheusText(metrics), healthz };
      } catch {
        return undefined;
      }
    };

    // Steady state: every user backed up, a success counted, the breaker closed.
    const healthy = await waitFor(
      async () => {
        const s = await scrape();
        return s && (gauge(s.metrics, 'xbackup_cycles_total', { result: 'success' }) ?? 0) >= 1 && gauge(s.metrics, 'xbackup_users', { state: 'missing' }) === 0 ? s : undefined;
      },
      { what: 'a successful cycle with every user backed up', timeoutMs: 120_000, describe: output },
    );
    assert.equal(sampleValue(healthy.metrics, 'xbackup_server_paused', { server: 'imap1' }), 0);

    await bed.stopBackupd();
    const paused = await waitFor(
      async () => {
        const s = await scrape();
        return s && gauge(s.metrics, 'xbackup_server_paused', { server: 'imap1' }) === 1 ? s : undefined;
      },
      { what: 'imap1 paused once backupd is down', timeoutMs: 60_000, describe: output },
    );
    const lastSuccess = sampleValue(paused.metrics, 'xbackup_cycle_last_success_timestamp_seconds');
    const failuresAtPause = sampleValue(paused.metrics, 'xbackup_cycles_total', { result: 'failure' });

    // Scraped again and again while the breaker probes: never a 0, never a 200, never a newer success.
    const seen: string[] = [];
    const probesFrom = breakerFailures(state);
    let last = paused;
    await waitFor(
      async () => {
        const s = await scrape();
        if (!s) return false;
        last = s;
        const p = gauge(s.metrics, 'xbackup_server_paused', { server: 'imap1' });
        const success = gauge(s.metrics, 'xbackup_cycle_last_success_timestamp_seconds');
        seen.push(`paused ${p} healthz ${s.healthz} lastSuccess ${success}`);
        assert.equal(p, 1, `xbackup_server_paused stays 1 between probes:\n${seen.join('\n')}`);
        assert.equal(s.healthz, 503, `/healthz stays 503 between probes:\n${seen.join('\n')}`);
        assert.equal(success, lastSuccess, 'the last success does not advance while backupd is down');
        return breakerFailures(state) >= probesFrom + PROBES;
      },
      { what: `${PROBES} breaker probes while backupd is down`, timeoutMs: 120_000, intervalMs: 50, describe: output },
    );
    assert.ok(sampleValue(last.metrics, 'xbackup_cycles_total', { result: 'failure' }) >= failuresAtPause + 2, `cycles counted as failures: ${failuresAtPause} → ${sampleValue(last.metrics, 'xbackup_cycles_total', { result: 'failure' })}`);
    const summary = (await (await fetch(new URL('status/summary', base))).json()) as { scheduler: { cycles: Array<{ result: string }> } };
    assert.equal(summary.scheduler.cycles[0]?.result, 'failure', 'the status page lists the cycle as a failure, not "completed"');

    // A restart into the failing state: the last success and the pause come back from the state database.
    running.child.kill('SIGTERM');
    assert.equal(await running.exited, 0, output());
    running = startCliProcess(['run', '-c', config]);
    const restarted = await waitFor(scrape, { what: 'the restarted scheduler to answer /metrics', timeoutMs: 60_000, describe: output });
    assert.equal(gauge(restarted.metrics, 'xbackup_cycle_last_success_timestamp_seconds'), lastSuccess, 'the last-success gauge is there after the restart, unchanged');
    assert.equal(gauge(restarted.metrics, 'xbackup_server_paused', { server: 'imap1' }), 1, 'still paused after the restart');
    const failuresBefore = sampleValue(restarted.metrics, 'xbackup_cycles_total', { result: 'failure' });
    assert.ok(failuresBefore >= failuresAtPause + 2, 'the counts go on across the restart');
    await waitFor(
      async () => {
        const s = await scrape();
        return s && sampleValue(s.metrics, 'xbackup_cycles_total', { result: 'failure' }) > failuresBefore && gauge(s.metrics, 'xbackup_cycle_last_success_timestamp_seconds') === lastSuccess;
      },
      { what: 'a failed cycle after the restart, the last success unchanged', timeoutMs: 60_000, describe: output },
    );

    // backupd back: the next probe succeeds, the breaker closes, a success is counted.
    await bed.startBackupd();
    await waitFor(
      async () => {
        const s = await scrape();
        return s && gauge(s.metrics, 'xbackup_server_paused', { server: 'imap1' }) === 0 && (gauge(s.metrics, 'xbackup_cycle_last_success_timestamp_seconds') ?? 0) > lastSuccess && s.healthz === 200;
      },
      { what: 'imap1 back, a new success and /healthz 200 once backupd is back', timeoutMs: 120_000, describe: output },
    );
    running.child.kill('SIGTERM');
    assert.equal(await running.exited, 0, output());
  });
});
