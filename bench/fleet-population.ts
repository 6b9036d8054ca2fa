// The 100,000-user fleet around the synthetic backup server: how many chunks each backup has, what the
// IMAP servers would report in discovery, and what the scheduler would remember after months of running.
import type { FleetDiscovery, ServerDiscovery } from '../src/imap/fleet-discovery.js';
import type { MailboxNaming } from '../src/imap/mailbox-names.js';
import type { RememberedUser } from '../src/scheduler/state/user-memory.js';
import { formatCount } from './format.js';
import { mulberry32, type ChunkCounts, type SyntheticUser } from './synthetic-population.js';

/** Changes whenever REALISTIC_CHUNKS does: part of the cached server's name, so an old cache is not reused. */
export const CHUNK_DISTRIBUTION = 'realistic-v1';

/** √2 steps from 1 to 4096: two dozen distinct counts, so the builder makes two dozen index templates. */
const LADDER = [1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024, 1448, 2048, 2896, 4096];

/** Shares of backed-up users by chunk count, each band spread evenly over its ladder steps (log-uniform). */
const CHUNK_BANDS: ReadonlyArray<{ share: number; low: number; high: number; what: string }> = [
  { share: 0.04, low: 1, high: 1, what: 'just bootstrapped, or compacted' },
  { share: 0.06, low: 2, high: 8, what: 'new this week' },
  { share: 0.75, low: 11, high: 362, what: 'weeks to a year of daily backups' },
  { share: 0.13, low: 512, high: 1024, what: 'years of daily backups' },
  { share: 0.02, low: 1448, high: 4096, what: 'several a day for years, never compacted' },
];

/**
 * Most backups have tens to a few hundred chunks (one per XBACKUP, and ctl_backups compact only drops the
 * empty ones), a few have one, a few thousands: about 230 on average, 4,096 at most.
 */
export const REALISTIC_CHUNKS: ChunkCounts = (random) => {
  let roll = random();
  const band = CHUNK_BANDS.find((b) => (roll -= b.share) < 0) ?? CHUNK_BANDS[CHUNK_BANDS.length - 1]!;
  const steps = LADDER.filter((n) => n >= band.low && n <= band.high);
  return steps[Math.floor(random() * steps.length)]!;
};

export function describeChunkDistribution(): string {
  return CHUNK_BANDS.map((b) => `${Math.round(b.share * 100)} % ${b.low === b.high ? b.low : `${formatCount(b.low)}-${formatCount(b.high)}`} (${b.what})`).join(', ');
}

/** Shares of the fleet outside the plain "backed up and still on its server" case. */
const ORPHAN_SHARE = 0.005;
const NEW_USER_SHARE = 0.02;
const CONFLICTS = 5;
const FAILING_SHARE = 0.003;
const IN_DOUBT_SHARE = 0.0005;
const SERVERS: ReadonlyArray<{ name: string; naming: MailboxNaming; share: number }> = [
  { name: 'imap1', naming: { separator: '.' }, share: 0.6 },
  { name: 'imap2', naming: { separator: '/' }, share: 0.4 },
];

export interface FakeFleet {
  discovery: FleetDiscovery;
  /** What the scheduler remembers: everyone it backed up, some failing or in doubt. */
  history: Map<string, RememberedUser>;
  counts: { discovered: number; newUsers: number; orphans: number; conflicts: number; failing: number; inDoubt: number };
}

/**
 * What two IMAP servers would answer discovery with (imap1 '.' separator, imap2 '/'), as discoverFleet
 * hands it to the cycle: every backed-up user but 0.5 % (orphans: deleted or moved), 2 % more users never
 * backed up whose names sit right after existing ones (`user00042n`), so batch patterns must step around
 * them, and a handful found on both servers. Sizes as STATUS (SIZE) gives them, 1 MB to 10 GB.
 */
export function fakeFleet(users: readonly SyntheticUser[], now: number): FakeFleet {
  const random = mulberry32(0xf1ee7);
  const size = () => Math.round(1e6 * 1e4 ** random());
  const onServer = new Map(SERVERS.map((s) => [s.name, [] as ServerDiscovery['users']]));
  const place = (userid: string, server: string) => onServer.get(server)!.push({ userid, server, sizeBytes: size(), live: null });
  const pickServer = () => (random() < SERVERS[0]!.share ? SERVERS[0]!.name : SERVERS[1]!.name);
  const counts: FakeFleet['counts'] = { discovered: 0, newUsers: 0, orphans: 0, conflicts: 0, failing: 0, inDoubt: 0 };

  for (const user of users) {
    if (random() < ORPHAN_SHARE) {
      counts.orphans++;
      continue;
    }
    if (counts.conflicts < CONFLICTS && random() < 0.001) {
      for (const s of SERVERS) place(user.userid, s.name);
      counts.conflicts++;
    } else {
      place(user.userid, pickServer());
    }
  }
  const newUsers = Math.round(users.length * NEW_USER_SHARE);
  for (let i = 0; i < newUsers; i++) {
    const next = users[Math.floor(random() * users.length)]!.userid;
    const at = next.lastIndexOf('@');
    const userid = at < 0 ? `${next}n${i}` : `${next.slice(0, at)}n${i}${next.slice(at)}`;
    place(userid, pickServer());
  }
  counts.newUsers = newUsers;

  const servers = SERVERS.map(({ name, naming }): ServerDiscovery => {
    const found = onServer.get(name)!.sort((a, b) => (a.userid < b.userid ? -1 : a.userid > b.userid ? 1 : 0));
    counts.discovered += found.length;
    return { name, ok: true, error: null, users: found, allUserids: found.map((u) => u.userid), sharedMailboxes: [], timeOnly: null, liveProblems: [], naming, askedAt: now, endedAt: now };
  });
  counts.discovered -= counts.conflicts;
  return { discovery: { startedAt: now, finishedAt: now, servers }, history: fakeHistory(users, now, random, counts), counts };
}

/** Every backed-up user verified at its last chunk; some failing (half of them backing off), a few in doubt. */
function fakeHistory(users: readonly SyntheticUser[], now: number, random: () => number, counts: FakeFleet['counts']): Map<string, RememberedUser> {
  const HOUR = 3_600_000;
  const history = new Map<string, RememberedUser>();
  for (const user of users) {
    if (user.lastBackup === null) continue;
    const verified = user.lastBackup * 1000;
    const remembered: RememberedUser = {
      lastVerified: verified,
      lastAttempt: { startedAt: verified - 2000, outcome: 'ok', error: null },
      consecutiveFailures: 0,
      inDoubtUntil: null,
      inDoubtChunkBefore: null,
      untrustedThrough: null,
      trustedBackupAt: null,
      deepVerify: null,
      lastInSync: null,
      nextAttemptAt: null,
    };
    const roll = random();
    if (roll < FAILING_SHARE) {
      remembered.consecutiveFailures = 3 + Math.floor(random() * 4);
      remembered.lastAttempt = { startedAt: now - 2 * HOUR, outcome: 'no', error: 'imap1: XBACKUP answered NO: The remote Server(s) denied the operation' };
      remembered.nextAttemptAt = random() < 0.5 ? now + HOUR : now - HOUR;
      counts.failing++;
    } else if (roll < FAILING_SHARE + IN_DOUBT_SHARE) {
      remembered.lastAttempt = { startedAt: now - 10 * 60_000, outcome: 'error', error: 'imap1: connection lost during XBACKUP' };
      remembered.inDoubtUntil = now + HOUR;
      counts.inDoubt++;
    }
    history.set(user.userid, remembered);
  }
  return history;
}
