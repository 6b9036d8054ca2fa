import { parseConfig, type Config } from '../../src/config/load.js';
import type { RunView } from '../../src/cli/http/run-view.js';
import type { FleetSnapshot } from '../../src/scheduler/cycle.js';
import type { LoopStatus } from '../../src/scheduler/scheduler-loop.js';
import type { ServerHealth } from '../../src/scheduler/state/server-state.js';
import type { UserStatus } from '../../src/staleness/classify.js';
import { userStatus } from './user-status.js';

export const NOW = Date.parse('2026-11-23T12:00:00Z');
export const H = 3_600_000;

/** A config with two IMAP servers, as the loader makes it; `http` is YAML under the http key. */
export function twoServerConfig(http = ''): Config {
  // Two ports: one server listed twice is refused at load.
  const server = (name: string, port: number) => `  - name: ${name}\n    host: 127.0.0.1\n    port: ${port}\n    tls: none\n    user: admin\n    passwordEnv: PW\n`;
  return parseConfig(`servers:\n${server('imap1', 1143)}${server('imap2', 1144)}${http ? `http:\n${http}` : ''}`, '/etc/xbackup-scheduler/config.yaml');
}

export const user = (userid: string, state: UserStatus['state'], age: number | null, extra: Partial<UserStatus> = {}): UserStatus =>
  userStatus(userid, state, age, NOW, extra);

/** A small fleet classified at NOW with maxAge 24h: every state but conflict and unreadable. */
export function sampleFleet(): FleetSnapshot {
  return {
    at: NOW,
    maxAge: 24 * H,
    notes: [],
    classification: {
      coverage: 'complete',
      users: [
        user('anne', 'fresh', 2 * H),
        user('anne.smith@example.com', 'fresh', 5 * H),
        user('bob', 'stale', 50 * H),
        user('carol', 'failing', 30 * H, {
          error: '3 failed attempts in a row; last: Mailbox is locked',
          lastAttempt: { startedAt: NOW - H, outcome: 'no', error: 'Mailbox is locked' },
        }),
        user('dave', 'missing', null),
        user('erin', 'missing', null),
        user('olga', 'orphan', 900 * H),
      ],
    },
  };
}

export function loopStatus(overrides: Partial<LoopStatus> = {}): LoopStatus {
  return { startedAt: NOW - 2 * H, cycles: 0, runningSince: null, recentCycles: [], lastSuccessAt: null, cycleCounts: { success: 0, failure: 0, error: 0 }, fleet: null, nextGroupAt: null, maintenance: null, ...overrides };
}

/** A RunView over fixed parts: a 10-minute schedule unless told otherwise. */
export function fakeRunView(
  options: { status?: LoopStatus; config?: Config; health?: Map<string, ServerHealth>; scheduleInterval?: number | null; nextCycleAt?: number | null; bootstrapBytes?: number } = {},
): RunView {
  const config = options.config ?? twoServerConfig();
  return {
    loop: {
      status: options.status ?? loopStatus(),
      nextCycleAt: () => options.nextCycleAt ?? null,
      scheduleInterval: () => (options.scheduleInterval === undefined ? 10 * 60_000 : options.scheduleInterval),
    },
    config: () => config,
    serverHealth: () => options.health ?? new Map(),
    bootstrapBytesThisWindow: () => options.bootstrapBytes ?? 0,
  };
}
