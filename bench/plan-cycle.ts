// How long the planner takes over a 10,000-user fleet (the goal: well under 100 ms, so planning
// never slows a cycle down). Not a test: nothing here asserts, since a wall-clock bound fails on a busy
// machine for reasons that are not the planner's. Printed: the best and median of the timed rounds for
// maxPerCycle 500 and 10,000, and the ratio between the two, both measured in this run.
// Usage: npm run bench:plan [-- --rounds N]
import { parseArgs } from 'node:util';
import { planCycle } from '../src/scheduler/plan/plan-cycle.js';
import type { PlanInput } from '../src/scheduler/plan/plan-types.js';
import type { UserStatus } from '../src/staleness/classify.js';
import { H, NOW, planInput, server, SLASH, user } from '../test/scheduler/plan/plan-fixtures.js';
import { formatDuration, formatRatio } from './format.js';
import { Samples } from './samples.js';

const STATES: Array<UserStatus['state']> = ['fresh', 'fresh', 'fresh', 'stale', 'stale', 'missing', 'failing', 'fresh', 'stale', 'unreadable', 'orphan', 'conflict'];
const USERS = 10_000;

/** 10,000 users over two servers: mixed states, dotted and domain userids, some in doubt or backing off. */
function fleet(maxPerCycle: number): PlanInput {
  const users = Array.from({ length: USERS }, (_, i) => {
    const local = i % 7 === 0 ? `first${i % 97}.last${i}` : `u${i}`;
    const userid = i % 5 === 0 ? `${local}@dept${i % 13}.example.com` : local;
    return user(userid, STATES[(i * 7) % STATES.length]!, {
      age: ((i * 7919) % 200) * H,
      server: i % 2 === 0 ? 'imap1' : 'imap2',
      inDoubt: i % 101 === 0,
      mailBytes: i % 3 === 0 ? null : (i * 104_729) % 5_000_000_000,
    });
  });
  const on = (name: string) => users.filter((u) => u.server === name).map((u) => u.userid);
  return planInput(users, {
    servers: [server('imap1', on('imap1'), { maxConcurrent: 4 }), server('imap2', on('imap2'), { naming: SLASH, maxConcurrent: 2 })],
    memory: new Map(users.filter((_, i) => i % 17 === 0).map((u, i) => [u.userid, { nextAttemptAt: NOW + (i % 2 === 0 ? H : -H) }])),
    inFlightUsers: new Set(users.filter((_, i) => i % 211 === 0).map((u) => u.userid)),
    maxPerCycle,
  });
}

function measure(maxPerCycle: number, rounds: number): { samples: Samples; commands: number } {
  const input = fleet(maxPerCycle);
  planCycle(input); // untimed: lets the JIT compile the planner first
  const samples = new Samples();
  let commands = 0;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    commands = planCycle(input).refreshes.length;
    samples.add(performance.now() - started);
  }
  return { samples, commands };
}

function main(): number {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    console.log('usage: npm run bench:plan -- [--rounds N]   (timed plans of a 10,000-user fleet per maxPerCycle, default 5)');
    return 0;
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error(`--rounds expects a whole number ≥ 1, got "${values.rounds}"`);
    return 2;
  }
  const small = measure(500, rounds);
  const large = measure(USERS, rounds);
  console.log(`planCycle over ${USERS.toLocaleString('en-US')} users on two servers, ${rounds} timed rounds each:`);
  for (const [maxPerCycle, { samples, commands }] of [[500, small], [USERS, large]] as const) {
    console.log(`  maxPerCycle ${String(maxPerCycle).padEnd(6)} best ${formatDuration(samples.min).padEnd(9)} median ${formatDuration(samples.median).padEnd(9)} ${commands} commands`);
  }
  console.log(`  maxPerCycle ${USERS} against 500, best against best: ${formatRatio(large.samples.min / small.samples.min)}`);
  return 0;
}

process.exitCode = main();
