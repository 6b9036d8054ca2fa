// The shipped monitoring (contrib/prometheus/rules.yml and its promtool tests, contrib/grafana/xbackup-scheduler.json)
// uses only metrics the tool exposes, with label values it writes, and points its runbooks at README sections
// that exist; promtool accepts the rules and their unit tests pass.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { SchedulerMetrics } from '../../src/cli/http/metrics.js';
import type { BackupResult } from '../../src/scheduler/backup-result.js';
import { MAINTENANCE_OUTCOMES } from '../../src/scheduler/state/maintenance-log.js';
import { USER_STATES } from '../../src/staleness/user-state.js';
import { fakeRunView, loopStatus, NOW, sampleFleet, twoServerConfig } from '../support/fake-run-view.js';
import { repoRoot } from '../support/paths.js';
import { sampleMaintenance } from '../support/sample-maintenance.js';
import { parsePrometheusText } from '../support/prometheus-text.js';

/** Prometheus's own series, which no exporter writes. */
const PROMETHEUS_OWN = new Set(['up']);
/** Label values the tool writes, per label (outcome: AttemptOutcome as in src/staleness/user-history.ts, and the maintenance lane's). */
const LABEL_VALUES: Record<string, readonly string[]> = {
  state: USER_STATES,
  outcome: ['ok', 'no', 'unverified', 'error', 'interrupted', 'in-sync', ...MAINTENANCE_OUTCOMES],
  result: ['success', 'failure', 'error'],
  kind: ['first', 'refresh'],
  verb: ['verify', 'compact', 'stat'],
  reason: ['recheck', 'compact', 'rolling'],
};

const PROMTOOL = '/usr/bin/promtool';
const NO_PROMTOOL = existsSync(PROMTOOL) || process.env.CI ? false : `${PROMTOOL} is absent (Debian package prometheus; .ci/run installs it)`;
const RULES_DIR = join(repoRoot, 'contrib/prometheus');
const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules: Rule[] = (parse(readFileSync(join(RULES_DIR, 'rules.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

/** Every `expr` in the dashboard, wherever Grafana keeps it. */
function dashboardExprs(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(dashboardExprs);
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => (key === 'expr' && typeof value === 'string' ? [value] : dashboardExprs(value)));
}
const dashboard = JSON.parse(readFileSync(join(repoRoot, 'contrib/grafana/xbackup-scheduler.json'), 'utf8')) as { panels: unknown[] };
const EXPRS = [...rules.map((r) => r.expr), ...dashboardExprs(dashboard.panels)];

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool']);

/** The metric names a PromQL expression reads: identifiers outside strings, label matchers, ranges and groupings that call nothing. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ');
  return [...bare.matchAll(/(?<![\w$.])([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)].map((m) => m[1]!).filter((w) => !PROMQL_WORDS.has(w));
}

/** Every `label="v"` / `label=~"a|b"` matcher's values, per label. */
function matcherValues(expr: string): Array<[string, string]> {
  return [...expr.matchAll(/(\w+)\s*(=~|=|!=|!~)\s*"([^"]*)"/g)].flatMap(([, label, , values]) => values!.split('|').map((v): [string, string] => [label!, v]));
}

/** Which family a sample name belongs to: histograms' _bucket, _sum and _count are their family's. */
function family(name: string, exposed: Map<string, string>): string | undefined {
  if (exposed.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return exposed.get(base) === 'histogram' ? base : undefined;
}

describe('shipped monitoring', () => {
  let exposed: Map<string, string>;
  before(async () => {
    // Everything /metrics can say: a fleet, a last success, per-user series, one attempt of each kind, the maintenance lane.
    const metrics = new SchedulerMetrics();
    const result = (group: number | null): BackupResult => ({
      userid: 'anne', server: 'imap1', outcome: 'ok', startedAt: NOW, seconds: 1, error: null, inDoubt: false, connectionDropped: false, locked: false, group, verifiedBackupAt: null, chunks: null, pattern: null,
    });
    metrics.recordAttempt(result(null));
    metrics.recordAttempt(result(1));
    const view = fakeRunView({ status: loopStatus({ fleet: sampleFleet(), lastSuccessAt: NOW - 60_000, maintenance: sampleMaintenance() }), config: twoServerConfig('  perUserMetrics: true\n') });
    exposed = parsePrometheusText(await metrics.render(view, NOW)).types;
  });

  test('every metric the rules and the dashboard use is on /metrics (or listed as not yet exposed)', () => {
    const unknown = new Set<string>();
    for (const expr of EXPRS) {
      for (const name of metricNames(expr)) if (!family(name, exposed) && !PROMETHEUS_OWN.has(name)) unknown.add(`${name} (in ${expr.trim()})`);
    }
    assert.deepEqual([...unknown], []);
  });

  test('every label value the rules and the dashboard match on is one the tool writes', () => {
    const wrong = EXPRS.flatMap((expr) => matcherValues(expr).filter(([label, value]) => LABEL_VALUES[label] && !LABEL_VALUES[label]!.includes(value)).map(([l, v]) => `${l}="${v}" in ${expr.trim()}`));
    assert.deepEqual(wrong, []);
  });

  test('each alert has a severity, a summary, a description and a runbook pointing at a README section', () => {
    const headings = new Set(
      README.split('\n')
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) => l.replace(/^#+ /, '').toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')),
    );
    assert.ok(rules.length >= 10);
    for (const rule of rules) {
      assert.ok(['critical', 'warning'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity critical or warning`);
      for (const key of ['summary', 'description', 'runbook']) assert.ok(rule.annotations?.[key], `${rule.alert}: annotation ${key}`);
      const anchor = /^README\.md#([\w-]+):/.exec(rule.annotations!.runbook!)?.[1];
      assert.ok(anchor && headings.has(anchor), `${rule.alert}: runbook ${rule.annotations!.runbook} names no README heading`);
    }
  });

  test('each alert is unit-tested: rules.test.yml expects it to fire somewhere', () => {
    const tests = (parse(readFileSync(join(RULES_DIR, 'rules.test.yml'), 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }> }).tests;
    const fired = new Set(tests.flatMap((t) => t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname));
    assert.deepEqual(rules.map((r) => r.alert).filter((a) => !fired.has(a)), []);
  });

  test('the dashboard draws states, oldest age, attempts, durations, first backups and messages at risk', () => {
    const all = EXPRS.join('\n');
    for (const metric of ['xbackup_users', 'xbackup_oldest_backup_age_seconds', 'xbackup_attempts_total', 'xbackup_duration_seconds_bucket', 'xbackup_bootstrap_remaining_users', 'xbackup_messages_not_in_backup']) {
      assert.ok(dashboardExprs(dashboard.panels).some((e) => e.includes(metric)), `no panel reads ${metric}`);
    }
    assert.ok(all.length > 0);
  });

  test('promtool check rules accepts the rules', { skip: NO_PROMTOOL }, () => {
    const result = spawnSync(PROMTOOL, ['check', 'rules', 'rules.yml'], { cwd: RULES_DIR, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  test('promtool test rules: each alert fires where it should and nowhere else', { skip: NO_PROMTOOL }, () => {
    const result = spawnSync(PROMTOOL, ['test', 'rules', 'rules.test.yml'], { cwd: RULES_DIR, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });
});
